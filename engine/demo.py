"""The embedded example: a plate made from a real public-domain portrait, swapped end to end.

The plate is scikit-image's ``astronaut.png`` (Eileen Collins, NASA, public domain) moved
by a slow push-in; the donor is matplotlib's ``grace_hopper.jpg``. Both ship inside those
packages (the ``demo`` extra), so the demo runs on a fresh machine with nothing downloaded.
"""
from __future__ import annotations

import math
import os
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


# -- the publish example: a timeline of three cuts, two face shots, one of them unlicensed ------------

BROLL_IMAGE = ("scikit-image", "skimage/data/coffee.png")


@dataclass(frozen=True)
class PublishExample:
    """The embedded publish example: ``blocked`` holds an unlicensed shot, ``licensed`` the fixed cut."""

    blocked: Path
    licensed: Path
    home: Path                       #: the demo studio's FACERIGHT_HOME (keyring, caches, config, ledger)
    unlicensed_shot: str


def write_config(studio: DemoStudio) -> Path:
    """The demo studio's config.toml in its own home, so `faceright publish` there uses its label and
    offline revocation (the publish command the demo prints runs with FACERIGHT_HOME set to it)."""
    labels = dict(studio.config.table("labels"))
    lines = ["# made by `faceright demo` for its throw-away studio", "[labels]"]
    lines += [f"{key} = {_toml(value)}" for key, value in labels.items()]
    lines += ["", "[licenses]", 'revocation_mode = "offline"', ""]
    path = studio.config.home / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def write_broll(path: Path, *, frames: int = 24, size: tuple[int, int] = (1280, 720),
                rate: Fraction = Fraction(24)) -> Path:
    """A face-free cutaway (scikit-image's coffee.png, slowly pushed in)."""
    from faceright.engine.media import open_sink, read_image

    still = read_image(packaged_image(*BROLL_IMAGE))
    with open_sink(path, width=size[0], height=size[1], rate=rate, timecode="01:00:00:00", overwrite=True) as sink:
        for frame in plate_frames(still, frames, size):
            sink.write(frame)
    return path


def publish_example(folder: Path, studio: DemoStudio, *, plate: Path, donor: Path, performer: Path,
                    frames: int = 48, broll: int = 24, backend: str = "auto") -> PublishExample:
    """Two OTIO timelines over the demo plate: sh010 (first half, the licensed donor), a cutaway, and
    sh030 (second half) whose donor is a face no license covers (``ep01.otio``) or the licensed
    donor (``ep01_licensed.otio``). Paths in them are relative to ``folder``."""
    import opentimelineio as otio

    from faceright.publish.timeline import mark_face_shot

    cutaway = write_broll(folder / "cutaway.mp4", frames=broll)
    rate = 24.0
    start = 86400   # the demo's media start at 01:00:00:00

    def clip(name: str, media: Path, first: int, count: int, length: int) -> Any:
        reference = otio.schema.ExternalReference(
            target_url=media.name, available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(length, rate)))
        return otio.schema.Clip(name=name, media_reference=reference, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start + first, rate), otio.opentime.RationalTime(count, rate)))

    def relative(path: Path) -> str:   # the timeline's files travel with its folder
        return os.path.relpath(path.absolute(), folder.absolute())

    def face_shot(shot_id: str, donor_image: Path) -> dict[str, Any]:
        usage = studio.usage
        return {"schema": "FaceShot.1", "shot_id": shot_id, "donor": {"image": str(donor_image)},
                "license": {"path": relative(studio.license)}, "release": {"path": relative(studio.release)},
                "usage": _usage_json(usage), "plate_face": {"rule": "largest"}, "swap": {"backend": backend}}

    half = frames // 2
    paths = {}
    for name, third_donor in (("ep01.otio", performer), ("ep01_licensed.otio", donor)):
        timeline = otio.schema.Timeline(name=Path(name).stem, global_start_time=otio.opentime.RationalTime(start, rate))
        track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
        first = clip("sh010", plate, 0, half, frames)
        mark_face_shot(first, face_shot("sh010", donor))
        third = clip("sh030", plate, half, frames - half, frames)
        mark_face_shot(third, face_shot("sh030", third_donor))
        track.extend([first, clip("cutaway", cutaway, 0, broll, broll), third])
        timeline.tracks.append(track)
        paths[name] = folder / name
        otio.adapters.write_to_file(timeline, str(paths[name]))
    return PublishExample(paths["ep01.otio"], paths["ep01_licensed.otio"], studio.config.home, "sh030")


def _usage_json(usage: Any) -> dict[str, Any]:
    from faceright import jsoncodec

    return jsoncodec.encode(usage)
