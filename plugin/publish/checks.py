"""The publish gates' decisions, host-agnostic: findings in, one verdict per check out.

The validators (``faceright.validators``) are thin: each asks one function here and fails
with what it returns. The license and release findings come from one
:class:`~faceright.engine_client.ShotCheck` per shot (the same verification a swap runs),
split by what they are about, so each validator shows the artist one kind of problem and
together they show every finding exactly once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from faceright.errors import FaceRightError
from faceright.findings import Finding, blocking
from faceright.frames import FrameRange

log = logging.getLogger(__name__)

#: which of a license's findings each gate shows (the rest of the license's go to "license")
IDENTITY_CODES = ("license.identity_",)
CONTENT_CODES = ("license.prohibited_content", "license.content_tag_unknown")
TIER_CODES = ("license.tier_", "license.budget_")


def _startswith(code: str, prefixes: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in prefixes)


def license_findings(coverage: Any) -> list[Finding]:
    """The license's findings about its trust, term, scope, consent and revocation."""
    return [f for f in coverage.license
            if not _startswith(f.code, IDENTITY_CODES + CONTENT_CODES + TIER_CODES)]


def identity_findings(coverage: Any) -> list[Finding]:
    """Is the donor face the one the license covers?"""
    return [f for f in coverage.license if _startswith(f.code, IDENTITY_CODES)]


def content_findings(coverage: Any) -> list[Finding]:
    return [f for f in coverage.license if _startswith(f.code, CONTENT_CODES)]


def tier_findings(coverage: Any) -> list[Finding]:
    return [f for f in coverage.license if _startswith(f.code, TIER_CODES)]


def release_findings(coverage: Any) -> list[Finding]:
    """Everything about the plate performer's release (its own trust, term, scope and identity)."""
    return list(coverage.release)


def label_findings(report: Any) -> list[Finding]:
    """The findings of a :class:`~faceright.labels.verify.LabelReport` (a proven label has none blocking)."""
    return list(report.findings)


# -- the face in the output ---------------------------------------------------------------------

#: frames of a shot's output whose face is compared with the license's reference
IDENTITY_SAMPLES = 5


@dataclass(frozen=True)
class OutputFace:
    """Where the swapped face is expected in the output: the plate face's frame and box."""

    frame: int                           #: index in the output (0 = the output's first frame)
    box: tuple[float, float, float, float]


def output_identity(output: Path, license_path: Path, embedder: Any, *, frames: int | None = None,
                    faces: Sequence[OutputFace] = (), samples: int = IDENTITY_SAMPLES,
                    min_threshold: float = 0.0) -> list[Finding]:
    """Is the face in the rendered ``output`` the licensed donor?

    Each face in ``faces`` (where the plate face was: frame and box) is cropped from the
    output and compared with the license's reference; so are ``samples`` frames spread over
    the output that show exactly one face. A render of the wrong take or an unswapped plate
    fails; so does an output in which no face can be compared at all.
    """
    from faceright.licenses import document as doc_mod
    from faceright.licenses.identity import FaceEvidence, check_identity

    try:
        reference = doc_mod.load_signed(license_path).document.reference
    except (FaceRightError, OSError, ValueError) as exc:
        return [Finding("output.identity_unchecked", "error",
                        f"the likeness license {license_path} cannot be read, so the output's face cannot be "
                        f"compared with it: {exc}")]
    output = Path(output)
    if not any(c in output.name for c in "%#") and not output.is_file():   # a sequence pattern is read below
        return [Finding("output.missing", "error",
                        f"the shot's output {output} does not exist, so there is no face to compare: swap the shot "
                        "first (faceright swap --shot SHOT.json, or the publish's engine) or hand in its render")]
    count = frames if frames is not None else frame_count(output)
    spread = sorted({round(i * (count - 1) / max(1, samples - 1)) for i in range(samples)}) if count else []
    wanted: dict[int, list[OutputFace | None]] = {}
    for face in faces:
        wanted.setdefault(face.frame, []).append(face)
    for index in spread:
        wanted.setdefault(index, []).append(None)
    compared: list[tuple[int, float, bool]] = []
    for index, frame in read_frames(output, sorted(wanted)):
        for face in wanted[index]:
            image = frame if face is None else crop_box(frame, face.box)
            try:
                vector = embedder.embed_one(image, what=f"output {output} frame {index}")
            except FaceRightError:
                continue   # a spread frame without exactly one face says nothing either way
            found = check_identity(reference, FaceEvidence(np.asarray(vector, dtype=np.float32).ravel(),
                                                           embedder.model_id, f"{output} frame {index}"),
                                   min_threshold=min_threshold)[0]
            if found.code == "license.identity_model_mismatch":
                return [Finding("output.identity_unchecked", "error", found.message, dict(found.detail))]
            compared.append((index, float(found.detail["similarity"]), not found.blocks))
    if not compared:
        return [Finding("output.identity_no_face", "error",
                        f"no face could be found in {output} where the plate face was, so it cannot be shown to be "
                        "the licensed donor: check that the right render is handed in")]
    threshold = max(reference.threshold, min_threshold)
    wrong = [(i, s) for i, s, ok in compared if not ok]
    detail = {"frames": [i for i, _, _ in compared], "similarities": [round(s, 4) for _, s, _ in compared],
              "threshold": threshold}
    if wrong:
        listed = ", ".join(f"frame {i} ({s:.2f})" for i, s in wrong[:5])
        return [Finding("output.identity_mismatch", "error",
                        f"the face in the rendered output is not the licensed donor at {listed} (threshold "
                        f"{threshold:.2f}): a render of another take, an unswapped plate or a failed swap cannot "
                        "publish; render the shot again", detail)]
    return [Finding("output.identity_match", "info",
                    f"the face in the rendered output is the licensed donor on {len(compared)} checked frame(s) "
                    f"(lowest similarity {min(s for _, s, _ in compared):.2f} >= {threshold:.2f})", detail)]


def crop_box(image: np.ndarray, box: Sequence[float], margin: float = 0.5) -> np.ndarray:
    """The region around ``box`` grown by ``margin`` of its size, clipped to the image."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    height, width = image.shape[:2]
    left, top = max(0, int(x1 - margin * w)), max(0, int(y1 - margin * h))
    right, bottom = min(width, int(np.ceil(x2 + margin * w))), min(height, int(np.ceil(y2 + margin * h)))
    return np.ascontiguousarray(image[top:bottom, left:right])


def is_sequence(path: Path) -> bool:
    return "%" in path.name or "#" in path.name


def _sequence_files(path: Path) -> list[Path]:
    import re

    name = path.name
    match = re.search(r"%0?(\d*)d|(#+)", name)
    if match is None:
        return [path]
    head, tail = name[:match.start()], name[match.end():]
    pattern = re.compile(re.escape(head) + r"(-?\d+)" + re.escape(tail) + "$")
    found = sorted((int(m.group(1)), p) for p in path.parent.iterdir() if (m := pattern.match(p.name)))
    return [p for _, p in found]


def frame_count(path: Path) -> int:
    """How many frames ``path`` holds (a movie's decoded count, a sequence's files, a still's 1)."""
    if is_sequence(path):
        return len(_sequence_files(path))
    from faceright.images import IMAGE_SUFFIXES

    if path.suffix.lower() in IMAGE_SUFFIXES:
        return 1
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return int(stream.frames or sum(1 for p in container.demux(stream) if p.dts is not None))


def read_frames(path: Path, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Frames ``indices`` (0 = the first) of a movie, a sequence or a still, as display-referred BGR uint8."""
    from faceright.images import IMAGE_SUFFIXES, read_image

    wanted = sorted(set(indices))
    if is_sequence(path):
        files = _sequence_files(path)
        for index in wanted:
            if 0 <= index < len(files):
                yield index, read_image(files[index])
        return
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if 0 in wanted:
            yield 0, read_image(path)
        return
    import av

    remaining = set(wanted)
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            if index in remaining:
                remaining.discard(index)
                yield index, frame.to_ndarray(format="bgr24")
            if not remaining:
                return


def output_faces(plate_faces: Sequence[Any], plate_frames: FrameRange | None) -> list[OutputFace]:
    """Where the plate faces the release was checked on sit in the output (its frame 0 = the range's first)."""
    first = plate_frames.first if plate_frames is not None else 0
    return [OutputFace(int(face.frame) - first, tuple(face.box)) for face in plate_faces if face.frame is not None]


def blocks(findings: Iterable[Finding]) -> bool:
    return bool(blocking(findings))


def output_label(path: Path, settings: Any, *, target: str) -> Any:
    """The label of a written output, read back (a sequence: its first and its last file)."""
    from faceright.errors import MediaError
    from faceright.labels.verify import verify_file

    path = Path(path)
    if not is_sequence(path):
        return verify_file(path, settings, target=target)
    files = _sequence_files(path)
    if not files:
        raise MediaError(f"no file of the image sequence {path} exists")
    first = verify_file(files[0], settings, target=target)
    if len(files) > 1 and first.proven:
        last = verify_file(files[-1], settings, target="shot")
        if not last.proven:
            return last
    return first
