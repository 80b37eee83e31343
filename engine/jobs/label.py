"""The label job: label an existing file (metadata by stream copy where the container allows,
burn-in, C2PA). It re-encodes video with the engine's media layer, so it sits above the
engine proper; the core reaches it through the engine client (``faceright.labels.apply``).

Order matters (compliance.md §3.1): burn the visible text → write the AIGC metadata →
C2PA-sign last. The result is then verified by reading the written file back; the caller
gets the :class:`~.verify.LabelReport`, and a label counts only if that report proves it.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceright.engine_client import ApplyResult
from faceright.errors import MediaError
from faceright.labels import c2pa_manifest
from faceright.labels.aigc import LabelSigner, label_signer
from faceright.labels.content import content_digest, scheme_for
from faceright.labels.metadata import VIDEO_CONTAINERS, container_of, patch_label, write_image
from faceright.labels.ocr import OcrBackend
from faceright.labels.policy import LabelSettings
from faceright.labels.verify import verify_file
from faceright.labels.visible import VisibleLabel

from faceright.atomic import AtomicOutput
from ..media.video import AudioSpan, VideoReader, VideoWriter, probe_video, remux

log = logging.getLogger(__name__)


def burn_video(src: Path, dst: Path, label: VisibleLabel, signer: LabelSigner, *, sources: list[Path],
               overwrite: bool = False) -> Path:
    """Re-encode ``src`` into ``dst`` with ``label`` burned in and the AIGC label ``signer`` signs
    for the new packets in the container."""
    info = probe_video(src)
    audio = AudioSpan(src) if info.has_audio else None
    with VideoWriter(dst, width=info.width, height=info.height, rate=info.rate, color=info.color,
                     timecode=info.timecode, label=signer, audio=audio, sources=sources,
                     overwrite=overwrite) as writer:
        for index, frame in VideoReader(src, info=info):
            writer.write(label.burn(frame, index, info.rate, info.frame_count, inplace=True))
    return dst


def _burn_image(src: Path, dst: Path, label: VisibleLabel) -> None:
    if container_of(src) in ("exr", "dpx"):
        raise MediaError(f"{src}: burning a visible label into {container_of(src).upper()} is not supported; burn it "
                         "in the comp (or a PNG/JPEG/TIFF)")
    image = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f"{src}: cannot decode the image")
    if not cv2.imwrite(str(dst), label.burn(image, 0, 1.0)):
        raise MediaError(f"cannot write {dst}")


def label_image(src: Path, dst: Path, signer: LabelSigner) -> None:
    """Write ``dst``: the image ``src`` with the AIGC label bound to its content. A PNG's or a
    JPEG's or a TIFF's image data is not touched by the label, so it is signed first; an EXR or a
    DPX is rewritten with a placeholder, signed for the pixels written, and the placeholder overwritten."""
    if container_of(src) not in ("exr", "dpx"):
        write_image(src, dst, signer.sign(content_digest(src)).to_json())
        return
    placeholder = signer.placeholder(scheme_for(src)).to_json()
    write_image(src, dst, placeholder)
    patch_label(dst, placeholder, signer.sign(content_digest(dst)).to_json())


def apply_labels(src: Path, dst: Path, settings: LabelSettings, *, visible: bool = False, c2pa: bool = False,
                 produce_id: str | None = None, plate: Path | None = None, key: Ed25519PrivateKey | None = None,
                 ocr: OcrBackend | None = None, overwrite: bool = False) -> ApplyResult:
    """Write ``dst``: ``src`` with the AIGC metadata, plus the visible text (``visible``), plus a
    C2PA manifest (``c2pa``, with ``plate`` as ingredient, default ``src``); then verify it."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise MediaError(f"{src} does not exist or is not a file")
    kind = container_of(src)
    if (kind in VIDEO_CONTAINERS) != (container_of(dst) in VIDEO_CONTAINERS) or (
            kind not in VIDEO_CONTAINERS and kind != container_of(dst)):
        raise MediaError(f"{src} and {dst} are different kinds of media; keep the suffix ({src.suffix})")
    if c2pa:
        c2pa_manifest.mime_type(dst)          # refuse an unsupported format before any work
        c2pa_manifest.require_c2pa()          # and a missing c2pa-python
    signer = label_signer(settings, produce_id=produce_id, key=key)
    sprite = VisibleLabel.from_settings(settings) if visible else None
    started = time.perf_counter()
    with AtomicOutput(dst, sources=[src], overwrite=overwrite) as final:
        # the unsigned file: the final temp when no C2PA follows, else a second hidden temp
        unsigned = final.temp if not c2pa else final.temp.with_name(final.temp.name + ".unsigned" + dst.suffix)
        try:
            if kind in VIDEO_CONTAINERS:
                if sprite is not None:
                    burn_video(src, unsigned, sprite, signer, sources=[src, dst])
                else:
                    remux(src, unsigned, label=signer)
            else:
                burned = src
                if sprite is not None:
                    burned = unsigned.with_name(unsigned.name + ".burn" + dst.suffix)
                    _burn_image(src, burned, sprite)
                try:
                    label_image(burned, unsigned, signer)
                finally:
                    if burned != src:
                        burned.unlink(missing_ok=True)
            if c2pa:
                c2pa_manifest.sign(unsigned, final.temp, plate=plate if plate is not None else src,
                                   cert_chain=settings.c2pa_cert_chain, key=settings.c2pa_key, title=dst.name)
        finally:
            if unsigned != final.temp:
                unsigned.unlink(missing_ok=True)
        final.commit()
    seconds = time.perf_counter() - started
    log.info("labelled %s -> %s in %.2f s", src, dst, seconds)
    report = verify_file(dst, settings, target="deliverable" if visible else "shot", require_c2pa=c2pa, ocr=ocr)
    return ApplyResult(dst, signer.signed, report, seconds)

