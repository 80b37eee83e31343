"""The engine service end to end: a real `faceright engine serve` on loopback, its client, its CLI.

A job through the service gives the same video as the same FaceShot swapped in-process (the
decoded pictures of both lossless outputs compared by ffmpeg, an independent reader), carries a proven
label, is recorded in the ledger, and open_engine() goes to the service as soon as one is
configured. Refusals and restarts have their own files (test_service_security, test_service_restart).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from faceright.config import Config
from faceright.engine_client import open_engine
from faceright.errors import ConfigError, ServiceError
from faceright.findings import blocking
from faceright.ledger import open_ledger
from faceright.service.client import RemoteEngine, rooted
from faceright.service.settings import ServiceSettings, service_settings, split_listen
from faceright.shot import FaceShot

from service_support import ServiceProcess, faceright_command, make_studio, pictures_md5


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return make_studio(tmp_path_factory.mktemp("service"))


@pytest.fixture(scope="module")
def service(studio):
    with ServiceProcess(studio) as svc:
        yield svc


def test_a_job_through_the_service_equals_the_same_shot_in_process(studio, service):
    from faceright.engine.jobs.local import LocalEngine

    config = studio.config()
    reports = []
    with RemoteEngine(config, url=service.url) as client:
        outcome = client.swap(FaceShot.from_json(studio.shot("sh010", "show:out/remote.mp4")),
                              progress=reports.append)
        job = client.jobs(limit=1)[0]
    with LocalEngine(config) as engine:
        local = engine.swap(FaceShot.from_json(studio.shot("sh010", "show:out/local.mp4")))

    remote_file, local_file = studio.root / "out" / "remote.mp4", studio.root / "out" / "local.mp4"
    assert pictures_md5(remote_file) == pictures_md5(local_file)
    assert outcome.frames == local.frames == 6 and outcome.faces_swapped == local.faces_swapped > 0
    assert outcome.label.proven and outcome.shot.results.label_proven
    # the client gets root: names back, never the service machine's paths
    assert [o.path for o in outcome.shot.results.outputs] == ["show:out/remote.mp4"]
    assert str(studio.root) not in json.dumps(job.to_json())
    assert outcome.shot.results.license_id == local.shot.results.license_id
    assert reports and reports[-1].done <= 6
    # the job is in the service's ledger, and the chain verifies
    assert job.state == "done" and job.ledger["sequence"] >= 1
    with open_ledger(config) as ledger:
        record = [r for r in ledger.records() if r.entry.get("job") == job.id]
        assert not blocking(ledger.verify())
    assert len(record) == 1 and record[0].entry["kind"] == "engine.job"
    assert record[0].entry["shot"]["results"]["outputs"][0]["sha256"] == outcome.shot.results.outputs[0].sha256


def test_open_engine_uses_the_service_once_one_is_configured(studio, service, monkeypatch):
    config = studio.config()
    monkeypatch.setenv("FACERIGHT_SERVICE_URL", service.url)
    with open_engine(config) as engine:
        assert engine.name == "remote"
        assert engine.health()["status"] == "ok"
    monkeypatch.delenv("FACERIGHT_SERVICE_URL")
    with open_engine(config) as engine:
        assert engine.name == "local"


def test_the_client_names_plain_paths_under_a_root_by_their_root(studio):
    shot = FaceShot.from_json(studio.shot("sh010", str(studio.root / "out" / "x.mp4"), plate=str(studio.root / "small.mp4")))
    named = rooted(shot, studio.config().paths)
    assert named.plate.path == "show:small.mp4" and named.output.path == "show:out/x.mp4"
    outside = rooted(FaceShot.from_json(studio.shot("sh010", "/elsewhere/x.mp4")), studio.config().paths)
    assert outside.output.path == "/elsewhere/x.mp4"   # left for the service to refuse by name


def test_health_metrics_and_openapi(service):
    health = requests.get(f"{service.url}/health", timeout=5).json()
    assert health["status"] == "ok" and health["devices"][0]["engine"] is True
    text = requests.get(f"{service.url}/metrics", timeout=5).text
    for name in ("faceright_queue_length{device=\"0\"}", "faceright_jobs{state=\"done\"}", "faceright_frames_total",
                 "faceright_model_load_seconds{device=\"0\"}", "faceright_frames_per_second"):
        assert name in text
    load = float(text.split("faceright_model_load_seconds{device=\"0\"} ")[1].split()[0])
    assert load > 0
    spec = requests.get(f"{service.url}/openapi.json", timeout=5).json()
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/events", "/v1/jobs/{job_id}/cancel", "/health",
            "/metrics"} <= set(spec["paths"])
    assert spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]["title"] == "FaceShot.1"
    # no outside URL, no CORS header
    response = requests.get(f"{service.url}/health", timeout=5)
    assert "access-control-allow-origin" not in {k.lower() for k in response.headers}
    assert requests.get(f"{service.url}/docs", timeout=5).status_code == 404


def test_terminal_commands_submit_list_and_report(studio, service, tmp_path):
    shot_file = tmp_path / "sh020.json"
    shot_file.write_text(json.dumps(studio.shot("sh020", "show:out/cli.mp4")), encoding="utf-8")
    env = {"FACERIGHT_HOME": str(studio.home), "PATH": "/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([*faceright_command(), "engine", *args, "--url", service.url], env=env,
                              capture_output=True, text=True, timeout=120)

    submitted = run("submit", str(shot_file), "--no-progress")
    assert submitted.returncode == 0, submitted.stderr
    assert "done" in submitted.stdout and "show:out/cli.mp4" in submitted.stdout
    listed = run("jobs")
    assert listed.returncode == 0 and "sh020" in listed.stdout and "done" in listed.stdout
    status = run("status", "--json")
    assert json.loads(status.stdout)["status"] == "ok"
    unknown = run("cancel", "job_" + "0" * 32)
    assert unknown.returncode == 5 and "knows no job" in unknown.stderr
    bad = run("cancel", "sh020")
    assert bad.returncode == 5 and "not a faceright job id" in bad.stderr


def test_a_client_with_no_service_says_where_it_looked(studio):
    with RemoteEngine(studio.config(), url="http://127.0.0.1:9") as client:
        with pytest.raises(ServiceError) as caught:
            client.jobs()
    assert caught.value.code == "service.unreachable" and "127.0.0.1:9" in str(caught.value)
    with pytest.raises(ServiceError, match="no engine service is configured"):
        RemoteEngine(Config({}))


def test_service_settings_refuse_what_cannot_work(tmp_path):
    assert split_listen("[::1]:8765") == ("::1", 8765)
    for listen in ("8765", "host:", "host:99999"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            ServiceSettings(listen=listen)
    with pytest.raises(ConfigError, match="max_queued"):
        ServiceSettings(max_queued=0)
    with pytest.raises(ConfigError, match="unknown key"):
        service_settings({"service": {"listn": "x"}})
    short = tmp_path / "token"
    short.write_text("abc\n")
    with pytest.raises(ConfigError, match="at least 16"):
        ServiceSettings(token_file=short).token(environ={})
    short.write_text("a-long-enough-random-token\n")
    assert ServiceSettings(token_file=short).token(environ={}) == "a-long-enough-random-token"
    assert ServiceSettings(token_file=short).token(environ={"FACERIGHT_SERVICE_TOKEN": "x" * 20}) == "x" * 20


def test_the_client_imports_no_onnxruntime_nor_the_web_stack():
    code = ("import sys, faceright.service.client, faceright.api; "
            "bad = [m for m in ('onnxruntime', 'fastapi', 'starlette', 'uvicorn', 'sqlalchemy', 'av', 'cv2') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_publish_swaps_its_shots_on_the_configured_service(tmp_path):
    """A TD's `faceright publish` with [service] url set: the gates check in-process, the shots are
    swapped by the service (its jobs, its ledger records), and the publish passes."""
    import opentimelineio as otio

    studio = make_studio(tmp_path, example=(48, 1))
    timeline = studio.built.example.licensed
    cut = otio.adapters.read_from_file(str(timeline))   # the donor on the show's storage, as a studio keeps it
    for clip in cut.find_clips():
        if "faceright" in clip.metadata:
            clip.metadata["faceright"]["faceshot"]["donor"]["image"] = str(studio.root / studio.built.donor.name)
    otio.adapters.write_to_file(cut, str(timeline))
    with ServiceProcess(studio) as service:
        env = {"FACERIGHT_HOME": str(studio.home), "FACERIGHT_SERVICE_URL": service.url, "PATH": "/usr/bin:/bin"}
        published = subprocess.run([*faceright_command(), "publish", str(timeline), "--no-progress", "--json"],
                                   env=env, capture_output=True, text=True, timeout=600)
        assert published.returncode == 0, published.stdout[-2000:] + published.stderr[-2000:]
        with RemoteEngine(studio.config(), url=service.url) as client:
            jobs = client.jobs()
    assert sorted(j.shot_id for j in jobs) == ["sh010", "sh030"] and all(j.state == "done" for j in jobs)
    shots = timeline.parent / f"{timeline.stem}.publish" / "shots"
    assert sorted(p.name for p in shots.glob("*.mp4")) == ["sh010.mp4", "sh030.mp4"]
    with open_ledger(studio.config()) as ledger:
        kinds = [r.entry.get("kind", "publish") for r in ledger.records()]
        assert not blocking(ledger.verify())
    assert kinds.count("engine.job") == 2 and len(kinds) == 3
