"""A studio that may swap: a trusted platform key, a fresh signed revocation list, and a real
likeness license and plate release whose references are the real faces' SFace vectors
(this module holds no tests).

Built with the same issuing and signing code as ``faceright license issue``, independently of
the engine's swap job, so the job's verification is tested against documents it did not make.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from faceright.licenses import identity, issuing, signing, template
from faceright.licenses.keyring import Keyring
from faceright.licenses.revocation import RevocationStore, dumps_record

REGISTRY = "http://127.0.0.1:9/test-registry/v1"   # never contacted: the studio verifies offline


class LargestFace:
    """A FaceEmbedder over the engine's analyser that takes the largest face (for group photos)."""

    def __init__(self, analyser: Any) -> None:
        self.analyser = analyser
        self.model_id = analyser.recogniser.model_id

    def embed_one(self, image, *, what: str):
        return self.analyser.one_face(image, what=what, largest=True).embedding


def reference(analyser: Any, image: Path, threshold: float = 0.5) -> dict[str, Any]:
    return identity.make_reference([identity.read_image(image)], LargestFace(analyser), threshold=threshold)


@dataclass(frozen=True)
class Studio:
    license: Path
    release: Path
    usage_args: tuple[str, ...]

    def args(self, **changes: str) -> list[str]:
        """``--license L --release R`` and the usage options, with ``changes`` (``platform="x"``)."""
        usage = list(self.usage_args)
        for name, value in changes.items():
            flag = "--" + name.replace("_", "-")
            if flag in usage:
                usage[usage.index(flag) + 1] = value
            else:
                usage += [flag, value]
        return ["--license", str(self.license), "--release", str(self.release), *usage]


def make_studio(home: Path, folder: Path, *, donor_reference: dict, plate_reference: dict,
                platforms: tuple[str, ...] = ("douyin",), revoked: tuple[str, ...] = ()) -> Studio:
    """Trust a new platform and registry key in ``home``'s keyring, cache a registry list (with
    ``revoked`` document ids), and write a license and a release into ``folder``."""
    platform, registry = signing.generate_private_key(), signing.generate_private_key()
    keyring = Keyring(home / "keyring" / "keyring.json")
    keyring.add(platform.public_key(), name="platform", roles=("issuer",))
    keyring.add(registry.public_key(), name="registry", roles=("registry",))
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def document(body: dict, ref: dict, name: str) -> tuple[Path, str]:
        body["term"]["start"] = (now - timedelta(days=30)).date().isoformat()
        body["term"]["end"] = (now + timedelta(days=300)).date().isoformat()
        body["consent"]["signed_at"] = (now - timedelta(days=30)).isoformat()
        body["scope"]["platforms"] = list(platforms)
        body["revocation"] = {"registry_url": REGISTRY, "registry_key_id": signing.key_id(registry.public_key())}
        body["likeness" if "likeness" in body else "face"] = ref
        signed = issuing.issue(body, platform, now=now - timedelta(days=1))
        path = folder / name
        issuing.write_new(path, issuing.dumps_signed(signed))
        return path, signed.document.doc_id

    license_path, license_id = document(template.license_template(), donor_reference, "likeness-license.json")
    release_path, release_id = document(template.release_template(), plate_reference, "plate-release.json")
    entries = [{"license_id": {"license": license_id, "release": release_id}.get(r, r), "state": "revoked",
                "reason": "withdrawn by the person", "effective_from": (now - timedelta(hours=2)).isoformat()}
               for r in revoked]
    listing = {"schema": "faceright.revocation-list/1", "registry_url": REGISTRY,
               "issued_at": (now - timedelta(minutes=5)).isoformat(), "entries": entries}
    RevocationStore(home / "revocations").save_list(REGISTRY, dumps_record(signing.envelope(listing, registry)))
    config = home / "config.toml"
    text = config.read_text() if config.exists() else ""
    config.write_text(text + '\n[licenses]\nrevocation_mode = "offline"\n')
    usage = ("--production", "PRJ-0001", "--platform", platforms[0], "--territory", "CN",
             "--date", now.date().isoformat(), "--tier", "ordinary")
    return Studio(license_path, release_path, usage)
