"""The embedded example: a plate made from a real public-domain portrait, swapped end to end.

The plate is scikit-image's ``astronaut.png`` (Eileen Collins, NASA, public domain) moved
by a slow push-in; the donor is matplotlib's ``grace_hopper.jpg``. Both ship inside those
packages (the ``demo`` extra), so the demo runs on a fresh machine with nothing downloaded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from fractions import Fraction
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from faceright.errors import DependencyMissingError

#: the demo's ContentProducer: a placeholder of the TC260 code's shape, plainly not a real provider
DEMO_PROVIDER_CODE = "0" * 27

PLATE_IMAGE = ("scikit-image", "skimage/data/astronaut.png")
DONOR_IMAGE = ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg")


def packaged_image(distribution: str, relative: str) -> Path:
    """The path of an image file inside an installed distribution (its code is not imported)."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as exc:
        raise DependencyMissingError(
            f"the demo needs {distribution}, which ships its sample image: pip install 'faceright[demo]'"
        ) from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise DependencyMissingError(f"{distribution} {dist.version} has no {relative}: reinstall it")
    return path


@dataclass(frozen=True)
class DemoFiles:
    plate: Path
    donor: Path
    output: Path


def plate_frames(still: np.ndarray, frames: int, size: tuple[int, int]):
    """A slow push-in on the still's upper centre (where the face is), ``frames`` long."""
    width, height = size
    sh, sw = still.shape[:2]
    for i in range(frames):
        t = i / max(1, frames - 1)
        zoom = 1.0 + 0.25 * (0.5 - 0.5 * math.cos(math.pi * t))      # eased 1.00 → 1.25
        cw = sw / zoom
        ch = cw * height / width
        if ch > sh:
            ch, cw = sh / zoom, sh / zoom * width / height
        cx, cy = sw / 2, min(max(ch / 2, sh * 0.25), sh - ch / 2)
        x0, y0 = cx - cw / 2, cy - ch / 2
        matrix = np.array([[width / cw, 0, -x0 * width / cw], [0, height / ch, -y0 * height / ch]])
        yield cv2.warpAffine(still, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def write_demo_plate(path: Path, *, frames: int = 48, size: tuple[int, int] = (1280, 720),
                     rate: Fraction = Fraction(24), overwrite: bool = True) -> Path:
    """Write the demo plate clip to ``path`` with faceright's own writer."""
    from faceright.engine.media import open_sink, read_image

    still = read_image(packaged_image(*PLATE_IMAGE))
    with open_sink(path, width=size[0], height=size[1], rate=rate, timecode="01:00:00:00",
                   overwrite=overwrite) as sink:
        for frame in plate_frames(still, frames, size):
            sink.write(frame)
    return path


def demo_files(folder: Path) -> DemoFiles:
    return DemoFiles(plate=folder / "plate.mp4", donor=packaged_image(*DONOR_IMAGE), output=folder / "swapped.mp4")


def demo_labels(folder: Path):
    """The studio's label settings when configured, else the demo's own: the placeholder
    provider code and a key made for the demo in ``folder`` (never the studio's key)."""
    from faceright.labels.aigc import write_keypair
    from faceright.labels.policy import label_settings

    studio = label_settings()
    if studio.provider_code and studio.signing_key_path.exists():
        return studio, False
    private, public = folder / "demo-aigc-ed25519.pem", folder / "demo-aigc-ed25519.pub.pem"
    if not private.exists():
        write_keypair(private, public)
    from dataclasses import replace

    return replace(studio, provider_code=DEMO_PROVIDER_CODE, signing_key=private, public_key=public), True


# -- the demo's licensing: a platform, a registry, a license and a release made for the demo ---------

DEMO_REGISTRY = "http://127.0.0.1:9/faceright-demo-registry/v1"   # never contacted: the demo verifies offline
_MARKER = "made-by-faceright-demo.txt"


@dataclass(frozen=True)
class DemoStudio:
    """A self-contained studio for the demo: its own FACERIGHT_HOME, keyring and revocation cache,
    a signed likeness license for the donor and a signed plate release for the plate performer."""

    config: Any
    license: Path
    release: Path
    usage: Any
    placeholder_labels: bool


def demo_studio(folder: Path, studio: Any, embedder: Any, *, donor: Path, performer: Path) -> DemoStudio:
    """Make (again) ``folder``: a demo platform key and registry key trusted in the demo's own
    keyring, an empty revocation list signed by the registry, a likeness license whose reference
    is the ``donor``'s face and a plate release whose reference is the ``performer``'s, both
    covering today's publish on the template's production. ``studio`` (the TD's Config) gives
    the label policy when one is configured; nothing of the TD's keyring or caches is touched."""
    import shutil
    from datetime import datetime, timedelta, timezone

    from faceright.config import Config
    from faceright.labels.aigc import write_keypair
    from faceright.licenses import identity, issuing, signing, template
    from faceright.licenses.revocation import dumps_record
    from faceright.usage import Usage

    if folder.exists():
        if not (folder / _MARKER).exists():
            raise DependencyMissingError(f"{folder} exists and was not made by the demo; choose another --out")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / _MARKER).write_text("faceright demo studio: keys, licenses and caches made for the demo only\n")
    labels = dict(studio.table("labels"))
    placeholder = not (studio.labels.provider_code and studio.labels.signing_key_path.exists())
    if placeholder:
        private, public = folder / "demo-aigc-ed25519.pem", folder / "demo-aigc-ed25519.pub.pem"
        write_keypair(private, public)
        labels = {**labels, "provider_code": DEMO_PROVIDER_CODE, "signing_key": str(private),
                  "public_key": str(public)}
    else:
        labels = {**labels, "signing_key": str(studio.labels.signing_key_path),
                  "public_key": str(studio.labels.public_key_path)}
    config = Config({"engine": dict(studio.table("engine")), "labels": labels,
                     "licenses": {"revocation_mode": "offline"}}, home=folder / "home",
                    models_dir_env=studio.models_dir_env)
    platform, registry = signing.generate_private_key(), signing.generate_private_key()
    keyring = config.keyring()
    keyring.add(platform.public_key(), name="demo-platform", roles=("issuer",))
    keyring.add(registry.public_key(), name="demo-registry", roles=("registry",))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    listing = {"schema": "faceright.revocation-list/1", "registry_url": DEMO_REGISTRY,
               "issued_at": (now - timedelta(minutes=1)).isoformat(), "entries": []}
    config.revocation_store().save_list(DEMO_REGISTRY, dumps_record(signing.envelope(listing, registry)))

    def document(body: dict, image: Path, out: Path) -> Path:
        body["term"]["start"] = (now - timedelta(days=1)).date().isoformat()
        body["consent"]["signed_at"] = (now - timedelta(days=1)).isoformat()
        body["revocation"] = {"registry_url": DEMO_REGISTRY, "registry_key_id": signing.key_id(registry.public_key())}
        reference = identity.make_reference([identity.read_image(image)], embedder, threshold=0.5)
        issuing.write_new(out, issuing.dumps_signed(issuing.issue(body, platform, reference=reference, now=now)))
        return out

    license_path = document(template.license_template(), donor, folder / "likeness-license.json")
    release_path = document(template.release_template(), performer, folder / "plate-release.json")
    production = template.license_template()["scope"]["productions"][0]["project_id"]
    usage = Usage(production=production, platform="douyin", territory="CN", when=now, character="Lead", episode=1,
                  tier="ordinary")
    return DemoStudio(config, license_path, release_path, usage, placeholder)
