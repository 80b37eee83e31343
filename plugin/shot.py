"""FaceShot: the one object a host, the gates, the engine service and the farm pass around.

A FaceShot says everything needed to swap one face in one shot and to prove afterwards that
it was allowed: the plate and which face on it, the donor, the likeness license and the plate
performer's release that cover it, where the result will be used, how to swap, where the
output goes, and (once run) what came out. Its JSON form is plain and versioned
(``"schema": "FaceShot.1"``) and parsed strictly by :mod:`faceright.jsoncodec`; an older
schema is brought up to date by the functions in :data:`UPGRADES` before it is parsed.

Media are named by strings: a plain path, or ``root:relative/path`` resolved through the
TD's path roots (:class:`faceright.paths.PathRoots`) on the machine that opens them.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from . import jsoncodec
from .errors import ShotError
from .frames import FrameRange
from .paths import PathRoots
from .usage import Usage

SCHEMA = "FaceShot.1"

#: schema label -> function turning such a document into the next schema's (ending at SCHEMA)
UPGRADES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}

#: how the face to replace is chosen on the plate
FaceRule = Literal["reference", "largest", "all"]

#: a FaceShot file is a few KB; refuse anything absurd before parsing it
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Plate:
    """The plate media: a movie file or an image sequence (``plate.%04d.exr``, ``plate.####.exr``)."""

    path: str
    frames: FrameRange | None = None     #: frames to process in the plate's numbering (default: all)
    rate: Fraction | None = None         #: frame rate of an image sequence (a movie knows its own)
    colour_space: str | None = None      #: as the host names it (e.g. "ACEScg", "Rec.709"), where known


@dataclass(frozen=True)
class Embedding:
    """A face identity vector with the model that made it (little-endian float32, base64)."""

    model_id: str
    vector: str

    def __post_init__(self) -> None:
        try:
            raw = base64.b64decode(self.vector, validate=True)
        except (binascii.Error, ValueError):
            raise ShotError("embedding.vector is not base64 (little-endian float32 values)") from None
        if not raw or len(raw) % 4:
            raise ShotError(f"embedding.vector holds {len(raw)} bytes, not a whole number of float32 values")

    @property
    def values(self) -> Any:
        import numpy as np

        return np.frombuffer(base64.b64decode(self.vector), dtype="<f4")

    @classmethod
    def of(cls, vector: Any, model_id: str) -> Embedding:
        import numpy as np

        data = np.asarray(vector, dtype="<f4").ravel().tobytes()
        return cls(model_id, base64.b64encode(data).decode("ascii"))


@dataclass(frozen=True)
class PlateFace:
    """Which face on the plate is replaced: by a reference (image or embedding), the largest, or all."""

    rule: FaceRule = "largest"
    image: str | None = None             #: a reference image of the plate performer's face
    embedding: Embedding | None = None   #: or the reference as an embedding
    threshold: float = 0.35              #: similarity to the reference that selects a face
    #: when the rule picks no face on the plate: "refuse" the shot (nothing is written), or let
    #: the plate "pass_through" unchanged (batch runs; the output is still labelled)
    when_none: Literal["refuse", "pass_through"] = "refuse"

    def __post_init__(self) -> None:
        if self.rule == "reference" and self.image is None and self.embedding is None:
            raise ShotError("plate_face: the 'reference' rule needs a reference image or embedding")
        if not 0.0 <= self.threshold <= 1.0:
            raise ShotError(f"plate_face.threshold must lie in [0, 1], not {self.threshold}")


@dataclass(frozen=True)
class Donor:
    """The face put in: an image of the licensed person."""

    image: str
    largest: bool = False                #: the image shows several faces: take the largest


@dataclass(frozen=True)
class DocumentRef:
    """A likeness license or plate release: a file, or an id the studio's license store resolves."""

    path: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if self.path is None and self.id is None:
            raise ShotError("a license or release reference needs its file path or its id")


#: the video codecs a swap writes (``--codec``): ``auto`` keeps the plate's family (engine/media/codecs.py)
VIDEO_CODECS = ("auto", "h264", "h264-422", "h264-444", "prores", "prores-4444", "dnxhr-hq", "dnxhr-hqx",
                "dnxhr-444", "ffv1")


@dataclass(frozen=True)
class SwapSettings:
    """How to swap. The engine chooses the mask and the blend itself; these are the choices it offers."""

    backend: str = "auto"                #: "auto", "classic" or a swap model's catalog name or file
    detector: str | None = None
    recogniser: str | None = None
    preset: str | None = None            #: libx264 preset of a video output
    crf: int | None = None               #: libx264 quality of a video output
    codec: str | None = None             #: a video output's codec (VIDEO_CODECS); None: the plate's family


@dataclass(frozen=True)
class Output:
    path: str
    deliverable: bool = False            #: a deliverable also carries the visible label (burned in)
    overwrite: bool = False


@dataclass(frozen=True)
class FileHash:
    path: str
    sha256: str


@dataclass(frozen=True)
class Verdict:
    """One finding of the checks that let the shot run (or stopped it)."""

    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class ModelUse:
    name: str
    kind: str
    sha256: str | None = None


@dataclass(frozen=True)
class Results:
    """Written back once the shot ran: what came out and what allowed it."""

    outputs: tuple[FileHash, ...] = ()
    produce_id: str | None = None
    license_id: str | None = None
    release_id: str | None = None
    verdicts: tuple[Verdict, ...] = ()
    models: tuple[ModelUse, ...] = ()
    frames: FrameRange | None = None
    label_proven: bool | None = None


@dataclass(frozen=True)
class FaceShot:
    shot_id: str
    plate: Plate
    donor: Donor
    license: DocumentRef
    release: DocumentRef
    usage: Usage
    output: Output
    plate_face: PlateFace = field(default_factory=PlateFace)
    swap: SwapSettings = field(default_factory=SwapSettings)
    results: Results | None = None

    def __post_init__(self) -> None:
        if not self.shot_id.strip():
            raise ShotError("shot_id must not be empty")

    # -- JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **jsoncodec.encode(self)}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> FaceShot:
        """Parse a FaceShot document (any known schema); a :class:`ShotError` names the bad member."""
        if not isinstance(data, dict):
            raise ShotError("a FaceShot must be a JSON object")
        data = upgrade(data)
        body = {k: v for k, v in data.items() if k != "schema"}
        return jsoncodec.decode(cls, body)

    @classmethod
    def loads(cls, text: str | bytes, *, what: str = "FaceShot") -> FaceShot:
        from .licenses.strictjson import DocumentFormatError, loads

        raw = text.encode("utf-8") if isinstance(text, str) else text
        try:
            data = loads(raw, what=what)
        except DocumentFormatError as exc:
            raise ShotError(str(exc)) from None
        try:
            return cls.from_json(data)
        except ShotError as exc:
            raise ShotError(f"{what}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaceShot:
        path = Path(path)
        from .licenses.strictjson import DocumentFormatError, read_bounded

        try:
            raw = read_bounded(path, MAX_BYTES)
        except DocumentFormatError as exc:
            raise ShotError(str(exc)) from None
        return cls.loads(raw, what=str(path))

    # -- changes ----------------------------------------------------------------------------------

    def with_results(self, results: Results) -> FaceShot:
        return replace(self, results=results)

    def media(self, roots: PathRoots | None = None) -> ShotMedia:
        """Every file this shot names, resolved on this machine (path roots refused when unsafe)."""
        roots = roots or PathRoots()

        def one(name: str | None) -> Path | None:
            return None if name is None else roots.resolve(name)

        return ShotMedia(
            plate=roots.resolve(self.plate.path), donor=roots.resolve(self.donor.image),
            output=roots.resolve(self.output.path), plate_face=one(self.plate_face.image),
            license=one(self.license.path), release=one(self.release.path),
        )


@dataclass(frozen=True)
class ShotMedia:
    """A FaceShot's files as paths on this machine."""

    plate: Path
    donor: Path
    output: Path
    plate_face: Path | None
    license: Path | None
    release: Path | None


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` brought to :data:`SCHEMA` through :data:`UPGRADES`; an unknown schema is refused."""
    seen = set()
    while True:
        label = data.get("schema")
        if label == SCHEMA:
            return data
        if label is None:
            raise ShotError(f'schema: is required (this faceright reads "{SCHEMA}")')
        if label in seen or label not in UPGRADES:
            known = ", ".join(sorted({SCHEMA, *UPGRADES}))
            raise ShotError(f"schema: {label!r} is not a FaceShot schema this faceright reads (known: {known}); "
                            "a newer faceright may have written it")
        seen.add(label)
        data = UPGRADES[label](dict(data))
