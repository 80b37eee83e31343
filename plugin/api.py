"""faceright's stable surface: what hosts (Resolve, Nuke, OTIO) and validators import, and only this.

Everything here works without onnxruntime, the models or the engine installed: the engine is
reached through :func:`open_engine` (in-process by default, a service later), never imported.
Names are added here deliberately; a name not listed in ``__all__`` is not part of the API.

    from faceright import api

    shot = api.FaceShot.load("ep01_sh010.faceshot.json")
    with api.open_engine() as engine:
        outcome = engine.swap(shot, progress=callback)     # refuses unlicensed shots
"""
from __future__ import annotations

from . import __version__
from .config import Config
from .deliverable import ConformClip, ConformResult
from .engine_client import ApplyResult, EngineClient, FaceCrop, ShotCheck, SwapOutcome, open_engine
from .errors import (
    ConfigError,
    DependencyMissingError,
    FaceRightError,
    FrameRangeError,
    LicenseError,
    MediaError,
    NoFaceError,
    PathRootError,
    ShotError,
    SwapRefusedError,
    TimelineError,
)
from .farm.bundle import Bundle as FarmBundle, write_bundle as write_farm_bundle
from .findings import Finding, blocking
from .frames import FrameRange
from .labels.policy import LabelSettings
from .labels.verify import LabelReport, verify_file as verify_label
from .licenses.coverage import Coverage, check_coverage, open_verifier
from .licenses.identity import FaceEvidence, FaceEmbedder
from .licenses.verify import Verifier
from .paths import PathRoots
from .progress import Progress, ProgressCallback, TerminalProgress
from .shot import (
    SCHEMA as FACESHOT_SCHEMA,
    DocumentRef,
    Donor,
    Embedding,
    FaceShot,
    FileHash,
    ModelUse,
    Output,
    Plate,
    PlateFace,
    Results,
    SwapSettings,
    Verdict,
)
from .publish import checks as publish_checks, results as publish_results
from .publish.session import GateFailed, PublishSession, StageProgress
from .publish.steps import conform_clips, labelled_copy, make_output_folder, refresh_revocations, relabel
from .publish.timeline import Cut, Timeline, TimelineProblem, TimelineShot, mark_face_shot, read_timeline
from .usage import Usage

API_VERSION = 1

__all__ = [
    "API_VERSION", "FACESHOT_SCHEMA", "__version__",
    # the shot and its parts
    "FaceShot", "Plate", "PlateFace", "Embedding", "Donor", "DocumentRef", "Usage", "SwapSettings", "Output",
    "Results", "FileHash", "Verdict", "ModelUse", "FrameRange", "PathRoots",
    # configuration, the engine client
    "Config", "EngineClient", "open_engine", "SwapOutcome", "ApplyResult", "Progress", "ProgressCallback",
    "TerminalProgress",
    # deliverables: a timeline of cuts conformed by the engine
    "ConformClip", "ConformResult",
    # compliance: licenses and labels
    "Finding", "blocking", "Verifier", "open_verifier", "check_coverage", "Coverage", "FaceEvidence",
    "FaceEmbedder", "LabelSettings", "LabelReport", "verify_label",
    # publishing: the timeline, the session the plugins share, the gates' checks, the ledger
    "read_timeline", "mark_face_shot", "Timeline", "TimelineShot", "TimelineProblem", "Cut", "PublishSession",
    "StageProgress", "GateFailed", "ShotCheck", "FaceCrop", "publish_checks", "publish_results", "conform_clips",
    "relabel", "labelled_copy", "make_output_folder", "refresh_revocations", "open_ledger",
    # the farm: a shot or a timeline's face shots as an Open Job Description bundle
    "write_farm_bundle", "FarmBundle",
    # errors
    "FaceRightError", "ConfigError", "DependencyMissingError", "FrameRangeError", "LicenseError", "MediaError",
    "NoFaceError", "PathRootError", "ShotError", "SwapRefusedError", "TimelineError",
]


def open_ledger(config: Config, url: str | None = None):
    """The publish ledger (SQLite by default, PostgreSQL at a URL): see :mod:`faceright.ledger`."""
    from .ledger import open_ledger as _open

    return _open(config, url)
