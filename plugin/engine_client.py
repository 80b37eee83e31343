"""The one interface through which hosts, validators and the CLI use the engine.

Callers never care where the engine runs: :func:`open_engine` returns an
:class:`EngineClient`, by default the in-process engine (``local``), later a remote one
(the engine service). Implementations register under the ``faceright.engines`` entry point
group, so the core never imports the engine: a host-side install without onnxruntime can
import all of this, and only using the local engine needs the engine's dependencies.

Every swap goes through :meth:`EngineClient.swap` with a :class:`~faceright.shot.FaceShot`:
the engine verifies the likeness license and the plate release itself before a frame is
decoded and refuses the shot with :class:`~faceright.errors.SwapRefusedError` (every finding)
when anything blocks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import DependencyMissingError
from .findings import Finding
from .progress import ProgressCallback
from .shot import FaceShot

if TYPE_CHECKING:   # annotations only: the core's label and license modules load lazily
    from .config import Config
    from .deliverable import ConformClip, ConformResult
    from .labels.policy import LabelSettings
    from .labels.verify import LabelReport
    from .licenses.identity import FaceEmbedder

ENTRY_POINT_GROUP = "faceright.engines"


@dataclass(frozen=True)
class SwapOutcome:
    """A finished swap: the FaceShot with its results, the label proof, and what it cost."""

    shot: FaceShot                 #: with ``results`` filled in (output hashes, ids, verdicts, models)
    label: LabelReport             #: the label proven (or not) on the written file
    frames: int
    frames_swapped: int
    faces_swapped: int
    seconds: float
    swapper: str
    findings: tuple[Finding, ...] = ()   #: the license and release findings that let it run

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class FaceCrop:
    """A face as the engine found it: where (frame and box, in pixels) and a crop of it (BGR uint8)."""

    source: str                    #: the file (and frame) it was found in
    frame: int | None              #: the frame index in the media's own numbering (None: a still)
    box: tuple[float, float, float, float]
    image: Any                     #: numpy BGR uint8 crop around the box, for reports


@dataclass(frozen=True)
class ShotCheck:
    """What the engine found about a shot before swapping it (nothing written): for the publish gates."""

    shot: FaceShot
    coverage: Any                  #: :class:`~faceright.licenses.coverage.Coverage` of the license and release
    models: tuple[Finding, ...]    #: is each model the shot would use catalogued, with its hash matching?
    donor: FaceCrop | None = None  #: the donor face the license was checked against
    plate: tuple[FaceCrop, ...] = ()   #: the plate face(s) the release was checked against


@dataclass(frozen=True)
class ApplyResult:
    """A file labelled by :meth:`EngineClient.apply_labels`, and the proof read back from it."""

    path: Path
    label: Any                     #: the :class:`~faceright.labels.aigc.AigcLabel` written
    report: LabelReport
    seconds: float                 #: writing time, without the verification


class EngineClient(Protocol):
    name: str

    def swap(self, shot: FaceShot, *, progress: ProgressCallback | None = None) -> SwapOutcome:
        """Verify the shot's license and release, then swap; :class:`SwapRefusedError` when they block."""
        ...

    def check(self, shot: FaceShot) -> ShotCheck:
        """Everything :meth:`swap` would verify first (license, release, models), without swapping or writing."""
        ...

    def apply_labels(self, src: Path, dst: Path, settings: LabelSettings, **options: Any) -> ApplyResult:
        """Write a labelled copy of ``src`` (metadata, optionally visible text and C2PA), then prove it."""
        ...

    def conform(self, clips: Sequence[ConformClip], output: Path, settings: LabelSettings, *,
                overwrite: bool = False, progress: ProgressCallback | None = None) -> ConformResult:
        """Render the deliverable of a timeline of cuts: each clip's range in order into one movie
        (.mp4/.mov, the first clip's size and rate), its audio kept, the AIGC label burned in from
        the first frame and written as metadata, then proven on the written file."""
        ...

    def embedder(self) -> FaceEmbedder:
        """The face embedder (detector + recogniser) identities are checked with."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> EngineClient: ...

    def __exit__(self, *exc: object) -> None: ...


def open_engine(config: Config | None = None, *, name: str | None = None, **options: Any) -> EngineClient:
    """The engine called ``name``, built from ``config``. By default the engine service when
    ``[service] url`` (or ``FACERIGHT_SERVICE_URL``) names one (``remote``), else the in-process one."""
    if config is None:
        from .config import Config

        config = Config.load()
    if name is None:
        from .service.settings import configured_engine_name

        name = configured_engine_name(config)
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
        raise DependencyMissingError(
            f"no faceright engine called {name!r} is installed (entry point group {ENTRY_POINT_GROUP}; "
            f"installed: {', '.join(known) or 'none'}); install faceright with its engine: "
            "pip install 'faceright[cpu]' (or [gpu])"
        )
    factory = found[0].load()
    return factory(config, **options)
