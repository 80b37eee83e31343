"""The in-process engine: the ``local`` :class:`~faceright.engine_client.EngineClient`.

Registered as the ``faceright.engines: local`` entry point, so the core finds it without
importing it. The runtime (onnxruntime sessions, models) is made on first use and kept for
the engine's life, so several shots in one process load each model once.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faceright.config import Config
from faceright.deliverable import ConformClip, ConformResult
from faceright.engine_client import ApplyResult, ShotCheck, SwapOutcome
from faceright.labels.policy import LabelSettings
from faceright.licenses.identity import AnalyserEmbedder, FaceEmbedder
from faceright.progress import ProgressCallback
from faceright.shot import FaceShot

from ..runtime import Runtime
from ..settings import EngineSettings, engine_settings


class LocalEngine:
    name = "local"

    def __init__(self, config: Config, *, settings: EngineSettings | None = None,
                 runtime: Runtime | None = None, **overrides: Any) -> None:
        self.config = config
        self.settings = settings if settings is not None else engine_settings(config, **overrides)
        self._runtime = runtime
        self._checks: Any = None   # what checking many shots shares (see .check.CheckCache)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(self.settings)
        return self._runtime

    def swap(self, shot: FaceShot, *, progress: ProgressCallback | None = None) -> SwapOutcome:
        from .swap import swap_shot

        return swap_shot(shot, self.runtime, self.config, progress=progress)

    def check(self, shot: FaceShot) -> ShotCheck:
        from .check import CheckCache, check_shot

        if self._checks is None:
            self._checks = CheckCache()
        return check_shot(shot, self.runtime, self.config, self._checks)

    def apply_labels(self, src: Path, dst: Path, settings: LabelSettings, **options: Any) -> ApplyResult:
        from .label import apply_labels

        return apply_labels(src, dst, settings, **options)

    def conform(self, clips: Sequence[ConformClip], output: Path, settings: LabelSettings, *,
                overwrite: bool = False, progress: ProgressCallback | None = None) -> ConformResult:
        from ..conform import conform_clips

        return conform_clips(clips, Path(output), settings, overwrite=overwrite, progress=progress)

    def embedder(self) -> FaceEmbedder:
        return AnalyserEmbedder(self.runtime.analyser())

    def close(self) -> None:
        if self._checks is not None:
            self._checks.close()
            self._checks = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
