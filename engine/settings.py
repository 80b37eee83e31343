"""Engine settings: the ``[engine]`` table of the config, plus CLI/env overrides."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from faceright.config import load_config, settings_from
from faceright.home import faceright_home

MODELS_ENV = "FACERIGHT_MODELS"

#: providers in the order faceright prefers them; only those onnxruntime offers are used
DEFAULT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


@dataclass(frozen=True)
class EngineSettings:
    models_dir: Path | None = None       #: users' own model files; env FACERIGHT_MODELS wins
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    device_id: int = 0
    fp16: bool = True                    #: use an fp16 variant / TensorRT fp16 where the model allows
    trt_cache_dir: Path | None = None    #: TensorRT engine + timing caches (default: FACERIGHT_HOME/trt-cache)
    batch_size: int = 8                  #: faces per swapper call
    queue_size: int = 8                  #: frames in flight between pipeline stages
    detector: str | None = None          #: model name or path; None picks the best available
    recogniser: str | None = None
    swapper: str | None = None           #: None = "classic" when no swap model is installed
    det_threshold: float = 0.6
    refine_landmarks: bool = True        #: refine each face's landmarks on a window at the frame's resolution
    keyframe_interval: int = 12          #: video: whole-frame detection every N frames, faces followed between

    @property
    def models_folder(self) -> Path:
        if self.models_dir is not None:
            return self.models_dir
        return faceright_home() / "models"

    @property
    def trt_cache_folder(self) -> Path:
        return self.trt_cache_dir if self.trt_cache_dir is not None else faceright_home() / "trt-cache"


def engine_settings(config: Mapping[str, Any] | None = None, **overrides: Any) -> EngineSettings:
    """Settings from the config file's ``[engine]`` table, then env, then ``overrides``."""
    config = load_config() if config is None else config
    env_models = os.environ.get(MODELS_ENV)
    if env_models and overrides.get("models_dir") is None:
        overrides["models_dir"] = env_models
    return settings_from(EngineSettings, config.get("engine"), where="[engine]", **overrides)
