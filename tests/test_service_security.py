"""The engine service's refusals, against a real `faceright engine serve` process.

Every refusal is an HTTP status and a stable code in ``{"error": {"code", "message", "findings"}}``
with no traceback and no path of the service's machine, and the service answers /health after
each one. Media are opened only as ``root:relative`` names inside the roots, after symlinks are
resolved; bodies are bounded; browser pages (Origin), rebinding names (Host) and requests without
the token are turned away; an unlicensed shot fails with the license's findings and writes nothing;
a client that vanishes from a progress stream leaves the job and the service unharmed.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from faceright.errors import ServiceError, SwapRefusedError
from faceright.service.client import RemoteEngine
from faceright.service.settings import TOKEN_ENV, ServiceSettings
from faceright.shot import FaceShot

from service_support import ServiceProcess, faceright_command, free_port, make_studio

TOKEN = "s3cret-" + "x" * 25
BIG = 256 * 1024      # the default [service] max_body_bytes


# -- the studio, its traps, and the services -----------------------------------------------------


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("security")
    studio = make_studio(folder)
    root = studio.root
    donor = root / studio.built.donor.name
    outside = folder / "outside.jpg"                      # a real image next to the root, not in it
    shutil.copyfile(donor, outside)
    (root / "escape.jpg").symlink_to(outside)
    (root / "zero.jpg").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.jpg")
    (root / "out" / "target.mp4").write_bytes(b"not a video")
    (root / "out" / "inside-link.mp4").symlink_to(root / "out" / "target.mp4")
    (root / "out" / "outside-link.mp4").symlink_to(folder / "outside-output.mp4")   # dangling, outside
    from faceright.engine.demo import PLATE_IMAGE, packaged_image

    shutil.copyfile(packaged_image(*PLATE_IMAGE), root / "astronaut.png")   # a face the license is not for
    return studio


@pytest.fixture(scope="module")
def service(studio):
    with ServiceProcess(studio) as svc:
        yield svc


class TokenService(ServiceProcess):
    """The service on 0.0.0.0 with a token, contacted only at 127.0.0.1 (never another address)."""

    def __init__(self, studio, token: str) -> None:
        port = free_port()
        super().__init__(studio, listen=f"0.0.0.0:{port}", env={TOKEN_ENV: token})
        self.url = f"http://127.0.0.1:{port}"
        self.token = token
        self.health_headers = bearer(token)   # without it /health names no devices


@pytest.fixture(scope="module")
def token_studio(tmp_path_factory):
    """A studio of its own: one service per FACERIGHT_HOME."""
    return make_studio(tmp_path_factory.mktemp("security-token"))


@pytest.fixture(scope="module")
def token_service(token_studio):
    with TokenService(token_studio, TOKEN) as svc:
        yield svc


@pytest.fixture(autouse=True)
def still_answers(request):
    """After every test, each service it used still answers /health."""
    yield
    for name in ("service", "token_service"):
        if name in request.fixturenames:
            svc = request.getfixturevalue(name)
            headers = bearer(svc.token) if isinstance(svc, TokenService) else {}
            assert requests.get(f"{svc.url}/health", headers=headers, timeout=5).status_code == 200, svc.output()


# -- helpers ---------------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(studio, response: requests.Response, status: int, code: str | tuple[str, ...]) -> dict[str, Any]:
    """The refusal's error object, after checking its status, code, shape, and that it leaks nothing."""
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, text
    assert str(studio.root) not in text and str(studio.root.parent) not in text, text
    assert response.status_code == status, (response.status_code, text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "findings"}, body
    error = body["error"]
    assert error["code"] in ((code,) if isinstance(code, str) else code), error
    assert isinstance(error["message"], str) and error["message"] and isinstance(error["findings"], list)
    assert str(studio.root) not in error["message"]
    return error


def submit(service, doc: Any, **kwargs: Any) -> requests.Response:
    data = doc if isinstance(doc, (bytes, str)) or doc is None else json.dumps(doc)
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return requests.post(f"{service.url}/v1/jobs", data=data, headers=headers, timeout=30, **kwargs)


def wait_finished(service, job_id: str, *, timeout: float = 60.0, headers: dict[str, str] | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(f"{service.url}/v1/jobs/{job_id}", headers=headers or {}, timeout=5).json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def with_member(doc: dict[str, Any], member: str, name: str) -> dict[str, Any]:
    first, second = member.split(".")
    return {**doc, first: {**doc[first], second: name}}


# -- media names -----------------------------------------------------------------------------------

NAMES = [
    ("/etc/passwd", "path.not_rooted"),
    ("small.mp4", "path.not_rooted"),
    ("out/x.mp4", "path.not_rooted"),
    ("C:\\x", "path.not_rooted"),
    ("\\\\server\\share\\x", "path.not_rooted"),
    ("file:///etc/passwd", "path.not_rooted"),
    ("show:../x", "path.outside_roots"),
    ("show:out/../../x", "path.outside_roots"),
    ("show:/etc/passwd", "path.outside_roots"),
    ("show:..\\..\\x", "path.outside_roots"),
    ("show:C:\\x", "path.outside_roots"),
    ("show:", "path.outside_roots"),
    ("other:x", "path.outside_roots"),
]


@pytest.mark.parametrize("member", ["donor.image", "plate.path", "license.path", "output.path"])
@pytest.mark.parametrize(("name", "code"), NAMES)
def test_a_name_outside_the_roots_is_refused(studio, service, member, name, code):
    error = refused(studio, submit(service, with_member(studio.shot("sh100", "show:out/n.mp4"), member, name)),
                    400, code)
    assert member in error["message"] or member.split(".")[0] in error["message"]


@pytest.mark.parametrize(("donor", "codes"), [
    ("show:escape.jpg", "path.outside_roots"),                       # a symlink in the root to a file outside
    ("show:zero.jpg", ("path.outside_roots", "path.not_a_file")),    # a symlink to /dev/zero
    ("show:pipe.jpg", "path.not_a_file"),                            # a FIFO: never opened, never waited on
    ("show:out", "path.not_a_file"),                                 # a folder
    ("show:no-such.jpg", "path.missing"),
])
def test_an_input_that_is_not_a_file_inside_its_root_is_refused(studio, service, donor, codes):
    started = time.monotonic()
    error = refused(studio, submit(service, studio.shot("sh101", "show:out/i.mp4", donor=donor)), 400, codes)
    assert time.monotonic() - started < 10
    assert "donor.image" in error["message"]
    outside = str(studio.root.parent / "outside.jpg")
    assert outside not in error["message"] and "/dev/zero" not in error["message"]


@pytest.mark.parametrize(("output", "codes"), [
    ("show:out/inside-link.mp4", "path.outside_roots"),    # a symlink at the output's name, even to inside
    ("show:out/outside-link.mp4", "path.outside_roots"),   # a dangling symlink leading outside
    ("show:escape.jpg", "path.outside_roots"),
    ("show:nope/x.mp4", "path.missing"),                   # its folder does not exist
    ("show:out", ("path.not_a_file", "path.outside_roots", "path.missing")),
    ("show:pipe.jpg", "path.not_a_file"),
])
def test_an_output_the_service_must_not_write_is_refused(studio, service, output, codes):
    before = (studio.root / "out" / "target.mp4").read_bytes()
    refused(studio, submit(service, studio.shot("sh102", output, overwrite=True)), 400, codes)
    assert (studio.root / "out" / "target.mp4").read_bytes() == before
    assert not (studio.root.parent / "outside-output.mp4").exists()
    assert not (studio.root / "nope").exists()


@pytest.mark.parametrize("member", ["backend", "detector", "recogniser"])
@pytest.mark.parametrize("choice", ["/etc/passwd", "/nonexistent/x.onnx", "~/x.onnx", "x.onnx", "../models/x",
                                    "models\\x", "show:x.onnx", "C:\\x.onnx", ".hidden"])
def test_a_model_is_chosen_by_name_never_by_a_file_of_the_service(studio, service, member, choice):
    doc = studio.shot("sh104", "show:out/model.mp4")
    doc["swap"] = {**doc["swap"], member: choice}
    error = refused(studio, submit(service, doc), 400, "shot.invalid")
    assert f"swap.{member}" in error["message"] and "model" in error["message"]
    assert "/root" not in error["message"] and str(Path.home()) not in error["message"]


def test_a_plain_name_that_is_a_file_in_the_services_folder_is_not_opened_as_a_model(studio, service):
    # the service runs in the repository's folder, where README.md is a file the catalog would open
    doc = studio.shot("sh105", "show:out/model-name.mp4")
    doc["swap"] = {**doc["swap"], "backend": "README.md"}
    response = submit(service, doc)
    assert response.status_code == 202
    job = wait_finished(service, response.json()["id"])
    assert job["state"] == "failed" and job["error"]["code"] == "model.not_found", job["error"]
    assert "classic" in job["error"]["message"] and "/" not in job["error"]["message"]
    assert not (studio.root / "out" / "model-name.mp4").exists()


def test_a_name_with_a_nul_byte_is_refused_not_a_crash(studio, service):
    for member in ("donor.image", "output.path"):
        refused(studio, submit(service, with_member(studio.shot("sh103", "show:out/z.mp4"), member, "show:a\x00b")),
                400, "path.outside_roots")


# -- bodies, headers, ids, routes ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b"", b"[]", b'"FaceShot.1"', b"\xff\xfe{}", b'{"schema": "FaceShot.1"'])
def test_a_body_that_is_not_a_faceshot_object_is_refused(studio, service, body):
    refused(studio, submit(service, body), 400, "shot.invalid")


def test_a_missing_or_unknown_member_is_named(studio, service):
    doc = studio.shot("sh110", "show:out/m.mp4")
    for member in ("donor", "plate", "output", "license"):
        error = refused(studio, submit(service, {k: v for k, v in doc.items() if k != member}), 400, "shot.invalid")
        assert member in error["message"], error
    error = refused(studio, submit(service, {**doc, "bogus_member": 1}), 400, "shot.invalid")
    assert "bogus_member" in error["message"], error
    error = refused(studio, submit(service, {**doc, "donor": {**doc["donor"], "sneaky": "x"}}), 400, "shot.invalid")
    assert "sneaky" in error["message"], error
    error = refused(studio, submit(service, {**doc, "schema": "FaceShot.99"}), 400, "shot.invalid")
    assert "FaceShot.99" in error["message"], error


def test_a_body_over_the_limit_is_refused_before_it_is_read(studio, service):
    big = json.dumps({**studio.shot("sh111", "show:out/b.mp4"), "pad": "x" * BIG}).encode()
    refused(studio, submit(service, big), 413, "request.too_large")

    def chunks():
        for _ in range(BIG // 4096 + 2):
            yield b" " * 4096

    response = requests.post(f"{service.url}/v1/jobs", data=chunks(), headers={"Content-Type": "application/json"},
                             timeout=30)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    refused(studio, response, 413, "request.too_large")
    # a lying or malformed Content-Length is refused too
    for length in ("-1", "abc", str(10**12)):
        with socket.create_connection(("127.0.0.1", int(service.url.rsplit(":", 1)[1])), timeout=10) as sock:
            host = service.url.split("//", 1)[1]
            sock.sendall(f"POST /v1/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {length}\r\nConnection: close\r\n\r\n{{}}".encode())
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]     # uvicorn's parser refuses -1 and abc itself
        assert b"Traceback" not in answer
        if length.isdigit():
            assert answer.startswith(b"HTTP/1.1 413") and b'"request.too_large"' in answer, answer[:300]


def test_a_client_gone_mid_body_is_no_failure_of_the_service(studio, service):
    port = int(service.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     "Content-Length: 4000\r\n\r\n{\"schema\": ".encode())
        time.sleep(0.3)
    time.sleep(0.5)
    assert requests.get(f"{service.url}/health", timeout=5).status_code == 200
    assert "ClientDisconnect" not in service.output()


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def test_a_small_body_still_goes_through_with_chunks(studio, service):
    doc = json.dumps(studio.shot("sh112", "show:nope/c.mp4")).encode()   # refused by its media, not its size
    response = requests.post(f"{service.url}/v1/jobs", data=iter([doc[:100], doc[100:]]),
                             headers={"Content-Type": "application/json"}, timeout=30)
    refused(studio, response, 400, "path.missing")


@pytest.mark.parametrize(("method", "path"), [("GET", "/health"), ("GET", "/v1/jobs"), ("POST", "/v1/jobs"),
                                              ("GET", "/metrics"), ("GET", "/openapi.json")])
def test_a_request_from_a_web_page_is_refused(studio, service, method, path):
    data = json.dumps(studio.shot("sh120", "show:out/o.mp4")) if method == "POST" else None
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
        response = requests.request(method, f"{service.url}{path}", headers={"Origin": origin}, data=data,
                                    timeout=10)
        refused(studio, response, 403, "request.cross_origin")
        assert not any(k.lower().startswith("access-control-") for k in response.headers)
    preflight = requests.options(f"{service.url}/v1/jobs", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, timeout=10)
    refused(studio, preflight, 403, "request.cross_origin")
    assert not any(k.lower().startswith("access-control-") for k in preflight.headers)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "10.0.0.1", ""])
def test_a_rebound_host_name_is_refused_on_loopback(studio, service, host):
    response = requests.get(f"{service.url}/v1/jobs", headers={"Host": host}, timeout=10)
    refused(studio, response, 403, "request.bad_host")
    if host:
        refused(studio, submit(service, studio.shot("sh121", "show:out/h.mp4"), headers={"Host": host}),
                403, "request.bad_host")
    port = service.url.rsplit(":", 1)[1]
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert requests.get(f"{service.url}/v1/jobs", headers={"Host": good}, timeout=10).status_code == 200


def test_job_ids_are_checked_and_unknown_ones_answered_404(studio, service):
    unknown = "job_" + uuid.uuid4().hex
    for method, path in (("GET", ""), ("GET", "/events"), ("POST", "/cancel"), ("POST", "/resume")):
        refused(studio, requests.request(method, f"{service.url}/v1/jobs/{unknown}{path}", timeout=10), 404,
                "job.unknown")
        for bad in ("sh010", "job_" + "A" * 32, "job_" + "0" * 31, "job_" + "0" * 33, "JOB_" + "0" * 32,
                    "job_%2e%2e", "job_" + "0" * 31 + "g", "%00"):
            refused(studio, requests.request(method, f"{service.url}/v1/jobs/{bad}{path}", timeout=10), 400,
                    "job.bad_id")


def test_unknown_routes_and_methods_answer_an_error_body(studio, service):
    for method, path, status in (("GET", "/nothing", 404), ("GET", "/v1", 404), ("GET", "/docs", 404),
                                 ("GET", "/v1/jobs/job_x/events/more", 404), ("GET", "/v1/jobs/..%2f..%2fetc", 404),
                                 ("DELETE", "/v1/jobs", 405),
                                 ("PUT", "/health", 405)):
        error = refused(studio, requests.request(method, f"{service.url}{path}", timeout=10), status,
                        f"http.{status}")
        assert error["message"]
    for query in ("state=bogus", "limit=0", "limit=100000", "limit=abc"):
        refused(studio, requests.get(f"{service.url}/v1/jobs?{query}", timeout=10), 400, "request.invalid")


# -- the token -------------------------------------------------------------------------------------


def _serve_briefly(token_studio, listen: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, "FACERIGHT_SERVICE_URL")}
    return subprocess.run([*faceright_command(), "engine", "serve", "--listen", listen], capture_output=True,
                          text=True, timeout=60, env={**environ, "FACERIGHT_HOME": str(token_studio.home), **env})


@pytest.mark.parametrize(("env", "words"), [({}, ("token",)), ({TOKEN_ENV: "short-token"}, ("token", "16"))])
def test_a_network_address_without_a_proper_token_refuses_to_start(token_studio, env, words):
    port = free_port()
    done = _serve_briefly(token_studio, f"0.0.0.0:{port}", env)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), done.stderr
    assert "Traceback" not in done.stderr and "faceright engine service on" not in done.stdout
    if TOKEN_ENV in env:
        assert env[TOKEN_ENV] not in done.stderr + done.stdout   # the (wrong) secret is never echoed
    with pytest.raises(requests.ConnectionError):           # nothing listens there
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_a_short_token_is_refused_even_on_loopback(token_studio):
    done = _serve_briefly(token_studio, f"127.0.0.1:{free_port()}", {TOKEN_ENV: "x" * 15})
    assert done.returncode == 2 and "16" in done.stderr and "x" * 15 not in done.stderr, done.stderr


def test_without_the_token_only_health_answers_and_says_nothing_more(token_studio, token_service):
    url = token_service.url
    for method, path in (("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", "/metrics"), ("GET", "/openapi.json"),
                         ("GET", f"/v1/jobs/job_{uuid.uuid4().hex}"), ("GET", "/nothing")):
        data = json.dumps(token_studio.shot("sh130", "show:out/t.mp4")) if method == "POST" else None
        response = requests.request(method, f"{url}{path}", data=data, timeout=10)
        refused(token_studio, response, 401, "auth.missing")
        assert response.headers.get("WWW-Authenticate") == "Bearer"
        for given in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ",
                      f"Bearer {TOKEN.upper()}"):
            refused(token_studio, requests.request(method, f"{url}{path}", data=data, headers={"Authorization": given},
                                             timeout=10), 401, "auth.invalid")
    assert requests.get(f"{url}/v1/jobs", headers=bearer(TOKEN), timeout=10).status_code == 200
    assert requests.get(f"{url}/metrics", headers=bearer(TOKEN), timeout=10).status_code == 200
    # a body too large is refused without the token too, and without reading it
    refused(token_studio, submit(token_service, b"x" * (BIG + 1)), 401, "auth.missing")
    health = requests.get(f"{url}/health", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    wrong = requests.get(f"{url}/health", headers=bearer("y" * 32), timeout=10)
    assert wrong.status_code == 200 and wrong.json() == {"status": "ok"}
    full = requests.get(f"{url}/health", headers=bearer(TOKEN), timeout=10).json()
    assert full["status"] == "ok" and full["devices"] and "version" in full


def test_the_client_with_the_token_lists_jobs_and_without_it_is_told(token_studio, token_service, monkeypatch):
    config = token_studio.config()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with RemoteEngine(config, url=token_service.url) as client:
        assert isinstance(client.jobs(), list)
        assert client.health()["devices"]
    monkeypatch.delenv(TOKEN_ENV)
    with RemoteEngine(config, url=token_service.url) as client:
        with pytest.raises(ServiceError) as caught:
            client.jobs()
        assert caught.value.code == "auth.missing" and caught.value.status == 401
        assert client.health() == {"status": "ok"}
    token_file = token_studio.home.parent / "other-token"
    token_file.write_text("z" * 24 + "\n")
    with RemoteEngine(config, settings=ServiceSettings(url=token_service.url, token_file=token_file)) as client:
        with pytest.raises(ServiceError) as caught:
            client.jobs()
        assert caught.value.code == "auth.invalid" and caught.value.status == 401
    token_file.write_text(TOKEN + "\n")
    with RemoteEngine(config, settings=ServiceSettings(url=token_service.url, token_file=token_file)) as client:
        assert isinstance(client.jobs(limit=5), list)


# -- a shot the license does not cover ------------------------------------------------------------


def _identity_mismatch(findings: list[Any]) -> bool:
    codes = [f["code"] if isinstance(f, dict) else f.code for f in findings]
    return "license.identity_mismatch" in codes


def test_an_unlicensed_face_fails_with_the_license_findings_and_writes_nothing(studio, service):
    output = studio.root / "out" / "unlicensed.mp4"
    submitted = submit(service, studio.shot("sh140", "show:out/unlicensed.mp4", donor="show:astronaut.png"))
    assert submitted.status_code == 202, submitted.text
    job = wait_finished(service, submitted.json()["id"])
    assert job["state"] == "failed" and job["outcome"] is None, job
    assert job["error"]["code"] == "shot.not_covered", job
    assert _identity_mismatch(job["error"]["findings"]), job["error"]
    text = json.dumps(job)
    assert str(studio.root) not in text and "Traceback" not in text
    assert not output.exists()
    assert not [p for p in (studio.root / "out").iterdir() if p.name.startswith("unlicensed")]

    with RemoteEngine(studio.config(), url=service.url) as client:
        with pytest.raises(SwapRefusedError) as caught:
            client.swap(FaceShot.from_json(studio.shot("sh141", "show:out/unlicensed2.mp4",
                                                       donor="show:astronaut.png")))
    assert caught.value.findings and _identity_mismatch(list(caught.value.findings))
    assert not (studio.root / "out" / "unlicensed2.mp4").exists()
    assert not [p for p in (studio.root / "out").iterdir() if p.name.startswith("unlicensed")]


# -- a client that vanishes mid-stream ------------------------------------------------------------


def test_a_client_that_vanishes_from_the_progress_stream_harms_nothing(studio, service):
    submitted = submit(service, studio.shot("sh150", "show:out/vanished.mp4", overwrite=True))
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    port = int(service.url.rsplit(":", 1)[1])
    for abort in (True, False, True):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"GET /v1/jobs/{job_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        head = sock.recv(64)
        assert head.startswith(b"HTTP/1.1 200"), head
        if abort:   # RST, not FIN: the peer is simply gone
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    # a half-sent request, then gone
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /v1/jobs/{job_id}/events HTTP/1.1\r\nHost: 127.0".encode())
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    assert requests.get(f"{service.url}/health", timeout=5).status_code == 200
    job = wait_finished(service, job_id)
    assert job["state"] == "done", job
    assert (studio.root / "out" / "vanished.mp4").is_file()
    # and a stream opened after the job finished still ends with the finished job
    with requests.get(f"{service.url}/v1/jobs/{job_id}/events", stream=True, timeout=10) as response:
        lines = [line for line in response.iter_lines(decode_unicode=True) if line.startswith("data:")]
    assert json.loads(lines[-1][5:])["state"] == "done"


def test_nothing_in_this_file_made_the_service_fail_inside_or_leak_a_path(studio, service):
    """Runs last: every request above was refused (or served) on purpose, none by an exception."""
    assert "Traceback" not in service.output(), service.output()[-3000:]
    jobs = requests.get(f"{service.url}/v1/jobs?limit=1000", timeout=10)
    assert jobs.status_code == 200
    assert str(studio.root) not in jobs.text and "Traceback" not in jobs.text
    metrics = requests.get(f"{service.url}/metrics", timeout=10)
    assert str(studio.root) not in metrics.text
