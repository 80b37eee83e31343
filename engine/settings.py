"""Engine settings: the ``[engine]`` table of the config, plus CLI/env overrides."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from faceright.config import MODELS_ENV, Config, settings_from
from faceright.errors import ConfigError
from faceright.home import faceright_home


#: providers in the order faceright prefers them; only those onnxruntime offers are used
DEFAULT_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")

#: [engine] gpu_codecs: NVDEC/NVENC with GPU sessions where they open, always (refuse where not), never
GPU_CODEC_CHOICES = ("auto", "on", "off")


def check_gpu_codecs(value: str) -> str:
    """``value`` when it is one of :data:`GPU_CODEC_CHOICES`, else a ConfigError naming them."""
    if value not in GPU_CODEC_CHOICES:
        raise ConfigError(f"[engine] gpu_codecs must be one of {', '.join(GPU_CODEC_CHOICES)}, not {value!r}")
    return value


@dataclass(frozen=True)
class EngineSettings:
    models_dir: Path | None = None       #: users' own model files; env FACERIGHT_MODELS wins
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    device_id: int = 0
    fp16: bool = True                    #: use an fp16 variant / TensorRT fp16 where the model allows
    trt_cache_dir: Path | None = None    #: TensorRT engine + timing caches (default: FACERIGHT_HOME/trt-cache)
    model_cache_dir: Path | None = None  #: models read once, by sha256 (default: FACERIGHT_HOME/model-cache)
    batch_size: int = 8                  #: faces per swapper call
    queue_size: int = 8                  #: frames in flight between pipeline stages (at most; see frame_memory_mb)
    frame_memory_mb: int = 256           #: frames waiting between the stages fit this (engine/budget.py)
    detector: str | None = None          #: model name or path; None picks the best available
    recogniser: str | None = None
    swapper: str | None = None           #: None = "classic" when no swap model is installed
    det_threshold: float = 0.6
    refine_landmarks: bool = True        #: refine each face's landmarks on a window at the frame's resolution
    keyframe_interval: int = 12          #: video: whole-frame detection every N frames, faces followed between
    smooth_landmarks: bool = True        #: One-Euro smoothing of each track's landmarks (engine/tracks.py)
    intra_op_threads: int = 0            #: onnxruntime threads per session (0: onnxruntime's default); see engine/threads.py
    ort_spinning: bool = False           #: onnxruntime's idle threads spin (burns the codecs' CPU between calls)
    opencv_threads: int = 0              #: OpenCV's pool during a swap (0: OpenCV's default, every core)
    cuda_graphs: bool = True             #: replay fixed-shape models as CUDA graphs on a GPU (engine/fixed_binding.py)
    gpu_paste: str = "auto"              #: align, swap, paste back on the swapper's device: auto (GPU sessions), on, off
    gpu_codecs: str = "auto"             #: NVDEC/NVENC: auto (with GPU sessions, where they open), on, off (media/hwcodecs.py)

    @property
    def models_folder(self) -> Path:
        if self.models_dir is not None:
            return self.models_dir
        return faceright_home() / "models"

    @property
    def trt_cache_folder(self) -> Path:
        return self.trt_cache_dir if self.trt_cache_dir is not None else faceright_home() / "trt-cache"

    @property
    def model_cache_folder(self) -> Path:
        return self.model_cache_dir if self.model_cache_dir is not None else faceright_home() / "model-cache"


def engine_settings(config: Config | Mapping[str, Any] | None = None, **overrides: Any) -> EngineSettings:
    """Settings from the config's ``[engine]`` table, then env, then ``overrides``.

    The folders below FACERIGHT_HOME are resolved here, once: the settings never read the
    environment again."""
    if not isinstance(config, Config):
        config = Config.load() if config is None else Config(dict(config), models_dir_env=os.environ.get(MODELS_ENV))
    if config.models_dir_env and overrides.get("models_dir") is None:
        overrides["models_dir"] = config.models_dir_env
    settings = settings_from(EngineSettings, config.table("engine"), where="[engine]", **overrides)
    check_gpu_codecs(settings.gpu_codecs)
    if settings.gpu_paste not in GPU_CODEC_CHOICES:
        raise ConfigError(f"[engine] gpu_paste must be one of {', '.join(GPU_CODEC_CHOICES)}, not {settings.gpu_paste!r}")
    return replace(settings, models_dir=settings.models_dir or config.home / "models",
                   trt_cache_dir=settings.trt_cache_dir or config.home / "trt-cache",
                   model_cache_dir=settings.model_cache_dir or config.home / "model-cache")
