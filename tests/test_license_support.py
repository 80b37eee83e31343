"""Helpers for the license, keyring and revocation tests (this module holds no tests).

- real Ed25519 keys and real signed documents, made through the same code ``faceright
  license issue`` runs;
- a stub face embedder for the identity *logic* (the real engine is used in
  ``test_license_identity_engine.py``);
- a real HTTP revocation registry on loopback, in a thread, that can be normal, slow,
  failing, flaky, lying (wrong key), forging (right key id, wrong key) or replaying.
"""
from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceright.errors import MultipleFacesError, NoFaceError
from faceright.licenses import identity, issuing, signing, template
from faceright.licenses.keyring import Keyring
from faceright.licenses.revocation import RevocationChecker, RevocationStore, RegistryClient
from faceright.licenses.settings import LicenseSettings
from faceright.licenses.verify import ShotContext, Verifier

STUB_MODEL = "stub-recogniser@1"
#: the verifying clock of these tests, inside the term below
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
SHOT_DAY = date(2026, 6, 1)

#: small timeouts and backoff, so slow and failing registries cost a fraction of a second
FAST = LicenseSettings(connect_timeout_s=0.5, read_timeout_s=0.2, retries=2, backoff_s=0.01, max_backoff_s=0.02)

# -- faces -----------------------------------------------------------------------------------------

NO_FACE, SEVERAL_FACES = 0, 255
PERSON_A, PERSON_A_AGAIN, PERSON_B = 1, 2, 3


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def stub_vectors(dim: int = 128, seed: int = 7) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = unit(rng.normal(size=dim))
    b = unit(rng.normal(size=dim))
    again = unit(a + 0.25 * unit(rng.normal(size=dim)))  # the same person in another photo
    return {PERSON_A: a, PERSON_A_AGAIN: again, PERSON_B: b}


class StubEmbedder:
    """Reads "whose face" from the first pixel: 0 = no face, 255 = several faces, else a person."""

    def __init__(self, vectors: dict[int, np.ndarray] | None = None, model_id: str = STUB_MODEL) -> None:
        self.vectors = stub_vectors() if vectors is None else vectors
        self.model_id = model_id
        self.calls = 0

    def embed_one(self, image: np.ndarray, *, what: str) -> np.ndarray:
        self.calls += 1
        tag = int(image[0, 0, 0])
        if tag == NO_FACE:
            raise NoFaceError(f"no face found in the {what}")
        if tag == SEVERAL_FACES:
            raise MultipleFacesError(f"3 faces found in the {what}")
        return self.vectors[tag]


def face_image(tag: int) -> np.ndarray:
    return np.full((8, 8, 3), tag, dtype=np.uint8)


def write_face(path: Path, tag: int) -> Path:
    assert cv2.imwrite(str(path), face_image(tag))
    return path


def stub_reference(tag: int = PERSON_A, threshold: float = 0.6) -> dict[str, Any]:
    files = [identity.ReferenceImageFile(f"ref{tag}.png", f"{tag:064x}", face_image(tag))]
    return identity.make_reference(files, StubEmbedder(), threshold=threshold)


# -- keys and documents -----------------------------------------------------------------------------


@dataclass
class Keys:
    """An issuer (platform) and a registry key pair, both trusted by the test's keyring."""

    issuer: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    registry: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    keyring: Keyring = field(default_factory=Keyring)

    def trust(self) -> "Keys":
        self.keyring.add(self.issuer.public_key(), name="platform", roles=("issuer",))
        self.keyring.add(self.registry.public_key(), name="registry", roles=("registry",))
        return self

    @property
    def registry_id(self) -> str:
        return signing.key_id(self.registry.public_key())


def make_body(
    keys: Keys,
    *,
    release: bool = False,
    registry_url: str = "http://127.0.0.1:9/v1",
    reference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete body from the shipped template, with fixed dates and a stub reference."""
    body = template.release_template() if release else template.license_template()
    body["term"] = {"start": "2026-01-01", "end": "2026-12-31", "utc_offset": "+08:00"}
    body["consent"]["signed_at"] = "2025-12-20T10:00:00+08:00"
    body["revocation"] = {"registry_url": registry_url, "registry_key_id": keys.registry_id}
    body["face" if release else "likeness"] = reference if reference is not None else stub_reference()
    return body


def sign_body(body: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    signed = issuing.issue(body, key, now=datetime(2026, 1, 2, tzinfo=timezone.utc))
    return issuing.dumps_signed(signed)


def envelope_of(data: bytes) -> dict[str, Any]:
    return json.loads(data)


def shot(**changes: Any) -> ShotContext:
    values: dict[str, Any] = dict(production="PRJ-0001", platform="douyin", territory="CN", when=SHOT_DAY,
                                  tier="ordinary")
    values.update(changes)
    return ShotContext(**values)


def verifier(keys: Keys, settings: LicenseSettings = FAST, client: RegistryClient | None = None,
             now: datetime = NOW) -> Verifier:
    checker = RevocationChecker(keys.keyring, settings, RevocationStore(), client)
    return Verifier(keys.keyring, settings, checker, clock=lambda: now)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def blocking_codes(findings) -> list[str]:
    return [f.code for f in findings if f.blocks]


# -- a real registry on loopback -----------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:  # a client that timed out and left
        pass


class RegistryServer:
    """A revocation registry speaking faceright's protocol over real HTTP on 127.0.0.1.

    ``behaviour``: ``normal``; ``slow`` (answers after ``delay`` s); ``failing`` (503 always);
    ``flaky`` (503 for the first ``fail_first`` requests); ``lying`` (signs with a key of its own);
    ``forging`` (names the registry's key id, signs with another key); ``replay`` (wrong nonce);
    ``unknown`` (404 for statuses).
    """

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.other_key = Ed25519PrivateKey.generate()
        self.behaviour = "normal"
        self.delay = 1.0
        self.fail_first = 0
        self.states: dict[str, dict[str, Any]] = {}
        self.list_issued_at: datetime | None = None
        self.requests: list[str] = []
        self.notices: list[bytes] = []
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "RegistryServer":
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                registry._handle(self, "GET")

            def do_POST(self) -> None:
                registry._handle(self, "POST")

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- answers ----------------------------------------------------------------------------------

    def revoke(self, license_id: str, state: str = "revoked", reason: str = "consent withdrawn",
               effective_from: datetime | None = None) -> None:
        self.states[license_id] = {"state": state, "reason": reason,
                                   "effective_from": effective_from.isoformat() if effective_from else None}

    def _sign(self, body: dict[str, Any]) -> bytes:
        if self.behaviour == "lying":
            env = signing.envelope(body, self.other_key)
        elif self.behaviour == "forging":
            env = signing.envelope(body, self.other_key)
            env["signature"]["key_id"] = signing.key_id(self.key.public_key())
        else:
            env = signing.envelope(body, self.key)
        return json.dumps(env).encode("utf-8")

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: bytes = b"") -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.requests.append(f"{method} {handler.path}")
        parts = urlsplit(handler.path)
        if self.behaviour == "failing" or (self.behaviour == "flaky" and len(self.requests) <= self.fail_first):
            return self._send(handler, 503, b'{"error": "unavailable"}')
        if self.behaviour == "slow":
            self._release.wait(self.delay)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        path = parts.path
        if method == "POST" and path == "/v1/revocations":
            length = int(handler.headers.get("Content-Length", "0"))
            data = handler.rfile.read(length)
            self.notices.append(data)
            body = json.loads(data)["body"]
            self.revoke(body["license_id"], reason=body["reason"])
            return self._send(handler, 201, b"{}")
        if method == "GET" and path == "/v1/revocations":
            entries = [{"license_id": lid, **st} for lid, st in self.states.items() if st["state"] != "active"]
            body = {"schema": "faceright.revocation-list/1", "registry_url": self.url,
                    "issued_at": (self.list_issued_at or now).isoformat(), "entries": entries}
            return self._send(handler, 200, self._sign(body))
        if method == "GET" and path.startswith("/v1/licenses/") and path.endswith("/status"):
            license_id = unquote(path[len("/v1/licenses/"):-len("/status")])
            if self.behaviour == "unknown":
                return self._send(handler, 404, b'{"error": "unknown license"}')
            nonce = parse_qs(parts.query).get("nonce", [""])[0]
            if self.behaviour == "replay":
                nonce = "an-old-nonce"
            state = self.states.get(license_id, {"state": "active", "reason": None, "effective_from": None})
            body = {"schema": "faceright.revocation-status/1", "registry_url": self.url,
                    "license_id": license_id, "as_of": now.isoformat(), "nonce": nonce, **state}
            return self._send(handler, 200, self._sign(body))
        return self._send(handler, 404, b"{}")


def body_with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the member at dotted ``path`` set to ``value``."""
    out = copy.deepcopy(body)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def leaf_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every member of a JSON value (objects and lists walked)."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else k
            out.append(p)
            out += leaf_paths(v, p)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            p = f"{prefix}.{i}"
            out.append(p)
            out += leaf_paths(v, p)
    return out


def days(n: float) -> timedelta:
    return timedelta(days=n)


def cache_list(keys: Keys, registry_url: str = "http://127.0.0.1:9/v1", *, entries: list[dict[str, Any]] = (),
               issued_at: datetime = NOW - timedelta(hours=1), key: Ed25519PrivateKey | None = None) -> Path:
    """Put a revocation list signed by the registry key into the cache, as `license refresh` would."""
    body = {"schema": "faceright.revocation-list/1", "registry_url": registry_url,
            "issued_at": issued_at.isoformat(), "entries": list(entries)}
    data = json.dumps(signing.envelope(body, key or keys.registry)).encode()
    return RevocationStore().save_list(registry_url, data)
