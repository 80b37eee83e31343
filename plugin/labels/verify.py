"""Proof that a file carries the labels its policy asks for, read back from the file itself.

:func:`verify_file` answers with a :class:`LabelReport`: evidence (what each reader saw, what
OCR read on which frame) and findings with stable codes. A label counts only when it is
found in the written file: the metadata by readers independent of the writer
(:mod:`.metadata`), the visible text by OCR from the decoded pixels (:mod:`.ocr`), so a label
a host rendered (Resolve's Text+, Nuke's Text node) counts as well as faceright's own.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from faceright.errors import FaceRightError, MediaError
from faceright.findings import Finding, blocking

from . import c2pa_manifest, content
from .aigc import AigcLabel, by_policy, check_signature, load_public_key, parse_label
from .metadata import VIDEO_CONTAINERS, MetadataEvidence, check_container, container_of, read_metadata
from .ocr import OcrBackend, TextBox, default_backend
from .policy import LabelKind, LabelSettings, Target, required_labels

log = logging.getLogger(__name__)

#: seconds between OCR samples inside the minimum duration
SAMPLE_STEP_S = 0.5


@dataclass
class LabelReport:
    path: Path
    target: Target
    required: frozenset[LabelKind]
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def proven(self) -> bool:
        """Every label the policy asks for is in the file (no blocking finding)."""
        return not blocking(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "target": self.target,
            "required": sorted(self.required),
            "proven": self.proven,
            "evidence": self.evidence,
            "findings": [f.to_json() for f in self.findings],
        }


# -- metadata ------------------------------------------------------------------------------------

def check_metadata(evidence: MetadataEvidence, settings: LabelSettings) -> list[Finding]:
    findings: list[Finding] = []
    for problem in evidence.problems:
        findings.append(Finding("aigc.reader_failed", "error", f"a metadata reader could not read the file: {problem}"))
    structure = evidence.by("structure")
    libav = evidence.by("pyav")
    if not evidence.occurrences:
        # the hint is about a writer's option: only when every reader could read the file
        hint = (" (an MP4/MOV writer without movflags=use_metadata_tags drops it silently)"
                if evidence.container == "mp4" and not evidence.problems else "")
        findings.append(Finding("aigc.absent", "error", f"no AIGC metadata object in the file{hint}",
                                {"readers": evidence.readers}))
        return findings
    places = structure if "structure" in evidence.readers else libav
    keys_seen_by_libav = {(o.location, o.key) for o in libav}
    if len(places) > 1 or len(keys_seen_by_libav) > 1:
        where = sorted({f"{o.location} ({o.key})" for o in places + libav})
        findings.append(Finding("aigc.duplicate", "error",
                                f"{max(len(places), len(keys_seen_by_libav))} AIGC objects in the file "
                                f"(exactly one is allowed): {'; '.join(where)}", {"locations": where}))
    if evidence.container in VIDEO_CONTAINERS and "pyav" in evidence.readers and not libav:
        findings.append(Finding("aigc.not_in_container_metadata", "error",
                                f"the AIGC object is only in {places[0].location}, which libavformat-based readers "
                                f"(platforms' ffprobe) do not see; it belongs in the container's metadata keys"))
    values = {o.value for o in evidence.occurrences}
    if len(values) > 1 and not any(f.code == "aigc.duplicate" for f in findings):
        findings.append(Finding("aigc.reader_mismatch", "error",
                                "independent readers disagree on the AIGC value",
                                {"values": {o.reader: o.value for o in evidence.occurrences}}))
    value = (libav or places)[0].value
    label, parsed = parse_label(value)
    findings.extend(parsed)
    if label is not None:
        public = None
        if settings.public_key is not None or settings.public_key_path.exists():
            public = load_public_key(settings.public_key_path)
        signature = check_signature(label, public, settings)
        findings.append(signature)
        if signature.code == "aigc.signature_valid":
            findings.append(check_content(evidence.path, label, settings))
    if not blocking(findings):
        findings.append(Finding("aigc.present", "info", "exactly one AIGC object, Annex E fields in order"))
    return findings


def check_content(path: Path, label: AigcLabel, settings: LabelSettings) -> Finding:
    """Whether the (authentic) label was made for this file's content (:mod:`.content`)."""
    bound = label.content
    if bound is None:
        return by_policy(Finding(
            "aigc.content_unbound", "error",
            "the label's signature covers the producer's fields but not the content (made by a faceright before "
            "content binding), so it would verify on any file it is copied onto: label the file again with "
            "`faceright label apply`, or list aigc.content_unbound in [labels] warn_only", {}), settings)
    scheme = bound.split("=", 1)[0]
    if scheme not in content.SCHEMES:
        return by_policy(Finding(
            "aigc.content_scheme_unknown", "error",
            f"the label is bound to content by scheme {scheme!r}, which this faceright does not know "
            f"({', '.join(content.SCHEMES)}), so it is not shown to belong to this file: update faceright",
            {"content": bound}), settings)
    try:
        actual = content.content_digest(path, scheme)
    except FaceRightError as exc:
        return Finding("aigc.content_unreadable", "error",
                       f"what the label covers ({content.SCHEMES[scheme]}) cannot be read from {path}: {exc}",
                       {"content": bound})
    if actual != bound:
        return Finding(
            "aigc.content_mismatch", "error",
            f"the label is the studio's, but it was signed for other content: {content.SCHEMES[scheme]} of this file "
            f"do not match the digest it carries. Either the AIGC tag was copied from another file (a replayed "
            f"label: label this file itself), or the file was re-encoded after labelling (a platform's re-encode: "
            f"the propagator labels it with ContentPropagator, PropagateID and ReservedCode2; the producer's "
            f"signature then vouches only for the original)",
            {"label_content": bound, "file_content": actual})
    return Finding("aigc.content_bound", "info", f"the label is bound to this file: {content.SCHEMES[scheme]} match "
                   f"the signed digest", {"content": bound})


# -- visible label -------------------------------------------------------------------------------

def _normalise(text: str) -> str:
    # OCR reads a sans-serif "I" after "A" as l, 1 or |: "Al生成" is "AI生成"
    return re.sub(r"A[l1|]", "AI", text.replace(" ", ""))


def label_text_matches(text: str, settings: LabelSettings) -> bool:
    text = _normalise(text)
    return bool(re.search(settings.required_ai, text) and re.search(settings.required_generated, text))


def sample_indices(frame_count: int, rate: Fraction | float, settings: LabelSettings) -> list[int]:
    """Frames OCR looks at: the first, every 0.5 s, and the last frame inside the minimum duration."""
    last = math.ceil(settings.min_duration_s * float(rate) - 1e-9) - 1
    last = min(last, frame_count - 1)
    step = max(1, round(SAMPLE_STEP_S * float(rate)))
    return sorted(set(range(0, last + 1, step)) | {last})


def _video_frames(path: Path, wanted: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    import av

    remaining = set(wanted)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index in remaining:
                remaining.discard(index)
                yield index, frame.to_ndarray(format="bgr24")
            if not remaining:
                return


def _video_info(path: Path) -> tuple[int, int, Fraction, int]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate or 0)
        count = stream.frames
        if not count:   # Matroska declares none: count the frames' packets (B-frames' come without a DTS)
            count = sum(1 for p in container.demux(stream) if p.size and not p.is_discard)
        return stream.codec_context.width, stream.codec_context.height, rate, int(count)


def _image(path: Path) -> np.ndarray:
    """The file's pixels as display-referred 8-bit BGR (EXR: sRGB-encoded), by the one image decoder."""
    from faceright.images import read_image

    return read_image(path)


def _at_edge(box: tuple[int, int, int, int], width: int, height: int, band: float) -> bool:
    x1, y1, x2, y2 = box
    return (x1 <= band * width or x2 >= (1 - band) * width or y1 <= band * height or y2 >= (1 - band) * height)


def check_visible(path: Path, settings: LabelSettings, ocr: OcrBackend) -> tuple[list[Finding], dict[str, Any]]:
    container = container_of(path)
    if container in VIDEO_CONTAINERS:
        width, height, rate, count = _video_info(path)
        indices = sample_indices(count, rate, settings)
        frames = _video_frames(path, indices)
    else:
        image = _image(path)
        height, width = image.shape[:2]
        rate, count, indices = Fraction(0), 1, [0]
        frames = iter([(0, image)])
    shorter = min(width, height)
    samples: list[dict[str, Any]] = []
    labels: dict[int, TextBox | None] = {}
    texts: dict[int, list[TextBox]] = {}
    started = time.perf_counter()
    for index, frame in frames:
        # after the first frame, look where the label was first (cheap); the whole frame only if it is not there
        hint = labels.get(0)
        boxes = ocr.read_region(frame, hint.box) if hint is not None and index > 0 else []
        match = next((b for b in boxes if label_text_matches(b.text, settings)), None)
        if match is None:
            boxes = ocr.read(frame)
            match = next((b for b in boxes if label_text_matches(b.text, settings)), None)
        texts[index] = boxes
        labels[index] = match
        samples.append({
            "frame": index,
            "time_s": round(index / float(rate), 3) if rate else None,
            "texts": [{"text": b.text, "score": round(b.score, 3), "box": list(b.box), "glyph_height": b.glyph_height}
                      for b in boxes],
            "label": match.text if match else None,
        })
    elapsed = time.perf_counter() - started
    evidence = {"ocr": getattr(ocr, "name", type(ocr).__name__), "frame_size": [width, height],
                "rate": str(rate) if rate else None, "frame_count": count, "samples": samples,
                "ocr_ms_per_frame": round(1000 * elapsed / max(1, len(samples)), 1)}
    findings: list[Finding] = []
    first = labels.get(0)
    if first is None:
        later = [i for i in indices if labels.get(i) is not None]
        words = [b.text for b in texts.get(0, [])]
        if later:
            findings.append(Finding("visible.late_start", "error",
                                    f"the visible label first shows at frame {later[0]}"
                                    f" ({later[0] / float(rate):.2f} s); it must be there from the first frame"))
        elif any(re.search(settings.required_ai, _normalise(w)) or re.search(settings.required_generated, w)
                 for w in words):
            findings.append(Finding("visible.wording", "error",
                                    f"text on the first frame ({', '.join(repr(w) for w in words)}) does not contain "
                                    f"({settings.required_ai}) and ({settings.required_generated})",
                                    {"texts": words}))
        else:
            seen = f" (OCR read only {', '.join(repr(w) for w in words)})" if words else " (OCR found no text)"
            findings.append(Finding("visible.absent", "error", f"no visible AI label on the first frame{seen}",
                                    {"texts": words}))
        return findings, evidence
    ratio = first.glyph_height / shorter
    evidence["label"] = {"text": first.text, "box": list(first.box), "glyph_height": first.glyph_height,
                         "height_ratio": round(ratio, 4)}
    if ratio < settings.min_height_ratio:
        findings.append(Finding("visible.too_small", "error",
                                f"the label's glyphs are {first.glyph_height} px high, {ratio:.1%} of the shorter side "
                                f"({shorter} px); at least {settings.min_height_ratio:.0%} is required",
                                {"glyph_height": first.glyph_height, "ratio": ratio}))
    if not _at_edge(first.box, width, height, settings.edge_band_ratio):
        findings.append(Finding("visible.wrong_place", "error",
                                f"the label at {list(first.box)} is not at an edge or corner of the "
                                f"{width}×{height} frame (within {settings.edge_band_ratio:.0%} of it)",
                                {"box": list(first.box)}))
    if container in VIDEO_CONTAINERS:
        missing = [i for i in indices if labels.get(i) is None]
        needed = settings.min_duration_s
        if count / float(rate) < needed - 1e-9:
            findings.append(Finding("visible.too_short", "error",
                                    f"the clip lasts {count / float(rate):.2f} s; the label must show for {needed:g} s "
                                    f"at normal speed"))
        elif missing:
            findings.append(Finding("visible.too_short", "error",
                                    f"the label is gone at frame {missing[0]} ({missing[0] / float(rate):.2f} s); it must "
                                    f"show for at least {needed:g} s from the first frame",
                                    {"missing_frames": missing}))
    if not blocking(findings):
        findings.append(Finding("visible.present", "info",
                                f"visible label {first.text!r} at {ratio:.1%} of the shorter side, at an edge, "
                                + (f"on every sample up to {settings.min_duration_s:g} s" if rate else "on the image")))
    return findings, evidence


# -- C2PA ----------------------------------------------------------------------------------------

def check_c2pa(path: Path, settings: LabelSettings, *,
               required: bool) -> tuple[list[Finding], c2pa_manifest.C2paEvidence | None]:
    """The file's C2PA manifest: findings, and the evidence when it could be read.

    A format C2PA is not supported for counts only when C2PA is required; a manifest that cannot
    be read always does (``c2pa.read_failed``): a required one blocks, an optional one blocks
    unless ``[labels] warn_only`` lowers it.
    """
    try:
        c2pa_manifest.mime_type(path)
    except MediaError as exc:
        return ([Finding("c2pa.unsupported", "error", str(exc))] if required else []), None
    try:
        evidence = c2pa_manifest.read(path, settings.c2pa_trust_anchors)
    except (MediaError, OSError, c2pa_manifest.require_c2pa().C2paError) as exc:
        anchors = settings.c2pa_trust_anchors
        fix = f"check [labels] c2pa_trust_anchors ({anchors})" if anchors is not None else "sign the file again"
        finding = Finding("c2pa.read_failed", "error",
                          f"the C2PA manifest of {path} cannot be read ({type(exc).__name__}: {exc}), so it is not "
                          f"shown valid: {fix}"
                          + ("" if required else ", or list c2pa.read_failed in [labels] warn_only"),
                          {"file": str(path), "error": type(exc).__name__, "reason": str(exc)})
        return [finding if required else by_policy(finding, settings)], None
    return c2pa_manifest.findings(evidence, required=required), evidence


# -- all together --------------------------------------------------------------------------------

def verify_file(path: Path, settings: LabelSettings, *, target: Target = "shot", require_c2pa: bool | None = None,
                ocr: OcrBackend | None = None, use_ffprobe: bool = True) -> LabelReport:
    """Every label ``target`` needs, proven in ``path`` (see :func:`.policy.required_labels`)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path} does not exist or is not a file")
    check_container(path)       # an empty file or text named .mkv is an error, not a missing label
    required = set(required_labels(target, settings))
    if require_c2pa:
        required.add("c2pa")
    report = LabelReport(path, target, frozenset(required))
    metadata = read_metadata(path, use_ffprobe=use_ffprobe)
    report.evidence["metadata"] = metadata.to_json()
    report.findings += check_metadata(metadata, settings)

    if "visible" in required:
        try:
            backend = ocr if ocr is not None else default_backend(settings.ocr_models)
        except FaceRightError as exc:
            report.findings.append(Finding("visible.ocr_unavailable", "error",
                                           f"the visible label cannot be checked: no OCR backend ({exc})"))
        else:
            found, evidence = check_visible(path, settings, backend)
            report.findings += found
            report.evidence["visible"] = evidence

    if c2pa_manifest.available():
        found, evidence = check_c2pa(path, settings, required="c2pa" in required)
        report.findings += found
        if evidence is not None:
            report.evidence["c2pa"] = evidence.to_json()
    elif "c2pa" in required:
        report.findings.append(Finding("c2pa.unavailable", "error",
                                       "a C2PA manifest is required but c2pa-python is not installed: "
                                       "pip install 'faceright[c2pa]'"))
    return report
