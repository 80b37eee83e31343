"""What this machine offers the engine, and whether the engine can run: the facts behind ``faceright doctor``.

:func:`diagnose` gathers the onnxruntime distribution and providers, the CUDA devices, the
models per kind (and what is missing, with its consequence), the media libraries, and turns
what is wrong into :class:`~faceright.findings.Finding`\\ s with stable codes. It prints
nothing; the CLI formats it.
"""
from __future__ import annotations

import importlib
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from faceright.errors import FaceRightError
from faceright.findings import Finding, blocking

from .models.catalog import Catalog, Check, ModelFile
from .models.errors import ModelNotFoundError
from .runtime import GPU_PROVIDERS, Runtime, import_onnxruntime, installed_onnxruntime
from .settings import EngineSettings
from .types import MODEL_KINDS, ModelKind

__all__ = ["Diagnosis", "ModelChoice", "cuda_devices", "diagnose"]

log = logging.getLogger(__name__)

#: what the engine does without a model of each kind
CONSEQUENCES: Mapping[ModelKind, str] = MappingProxyType({
    "detector": "no faces can be found, so nothing can be swapped",
    "recogniser": "faces cannot be told apart: no reference-face selection, no inswapper donor embedding",
    "swapper": "the classic backend is used (5-point warp, colour transfer, feathered blend)",
})


@dataclass(frozen=True)
class ModelChoice:
    """The model the engine would use for one kind, or why there is none."""

    kind: ModelKind
    model: ModelFile | None
    note: str
    loads: bool | None = None   #: a session was made and the backend built (None: not tried)


@dataclass(frozen=True)
class Diagnosis:
    onnxruntime_version: str | None
    onnxruntime_distributions: tuple[tuple[str, str], ...]
    available_providers: tuple[str, ...]
    configured_providers: tuple[str, ...]
    used_providers: tuple[str, ...]
    cuda_devices: tuple[str, ...]
    models_folder: str
    choices: tuple[ModelChoice, ...]
    checks: tuple[Check, ...]
    libraries: tuple[tuple[str, str], ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def can_run(self) -> bool:
        """True when nothing blocks: onnxruntime usable, a detector and a recogniser load, media I/O present."""
        return not blocking(self.findings)


def cuda_devices(run: Callable[..., Any] = subprocess.run) -> list[str]:
    """The NVIDIA GPUs ``nvidia-smi`` lists ("0: NVIDIA H100 80GB HBM3, 81559 MiB, driver 550.54"); [] without one."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        done = run(
            [exe, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("nvidia-smi failed: %s", exc)
        return []
    devices = []
    for line in (done.stdout or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 4 and parts[0].isdigit():
            devices.append(f"{parts[0]}: {parts[1]}, {parts[2]}, driver {parts[3]}")
    return devices


def _version(module_name: str, attribute: str = "__version__") -> str | None:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return str(getattr(module, attribute, "unknown"))


def _libraries() -> list[tuple[str, str | None]]:
    av_version = _version("av")
    ffmpeg = _version("av", "ffmpeg_version_info") if av_version else None
    return [
        ("PyAV", av_version),
        ("FFmpeg (in PyAV)", ffmpeg),
        ("OpenCV", _version("cv2")),
        ("onnx", _version("onnx")),
        ("numpy", _version("numpy")),
    ]


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def diagnose(
    settings: EngineSettings,
    *,
    runtime: Runtime | None = None,
    load: bool = True,
    devices: Sequence[str] | None = None,
) -> Diagnosis:
    """Everything ``faceright doctor`` reports. ``load`` builds each chosen backend (one session each)
    to prove the models really run; ``devices`` overrides the ``nvidia-smi`` query (tests)."""
    findings: list[Finding] = []
    catalog = runtime.catalog if runtime is not None else Catalog.from_settings(settings)
    dists = tuple(installed_onnxruntime())
    ort = None
    try:
        ort = runtime.ort if runtime is not None else import_onnxruntime()
    except FaceRightError as exc:
        code = "onnxruntime.conflict" if len(dists) > 1 else "onnxruntime.missing"
        findings.append(Finding(code, "error", str(exc)))
    if ort is not None and runtime is None:
        runtime = Runtime(settings, catalog=catalog, ort=ort)
    available: tuple[str, ...] = tuple(ort.get_available_providers()) if ort is not None else ()
    used: tuple[str, ...] = tuple(n for n, _ in runtime.providers()) if runtime is not None else ()
    configured = tuple(settings.providers)
    gpus = tuple(cuda_devices() if devices is None else devices)

    missing_gpu = [p for p in configured if p in GPU_PROVIDERS and p not in available]
    if missing_gpu and ort is not None:
        severity = "warning" if gpus else "info"
        findings.append(Finding(
            "providers.unavailable", severity,
            f"configured {', '.join(missing_gpu)} not offered by this onnxruntime "
            f"({', '.join(n for n, _ in dists) or 'none'}): inference runs on "
            f"{', '.join(used) or 'CPU'}" + ("; install faceright[gpu] to use the GPU" if gpus else ""),
        ))
    if gpus and not any(p in available for p in GPU_PROVIDERS) and ort is not None and not missing_gpu:
        findings.append(Finding(
            "providers.gpu-unused", "warning",
            "this machine has an NVIDIA GPU but onnxruntime offers no CUDA/TensorRT provider: install faceright[gpu]",
        ))

    checks = tuple(catalog.verify())
    for check in checks:
        if not check.ok:
            findings.append(Finding(f"models.{check.status}", "warning", check.message,
                                    {"name": check.name, "path": str(check.path)}))
        elif check.warning is not None:   # usable but unregistered: its sha256 is checked by no one
            findings.append(Finding("models.unregistered", "warning", check.warning,
                                    {"name": check.name, "path": str(check.path)}))

    choices = []
    wanted = {"detector": settings.detector, "recogniser": settings.recogniser, "swapper": settings.swapper}
    for kind in MODEL_KINDS:
        name = wanted[kind]
        if kind == "swapper" and name == "classic":
            choices.append(ModelChoice(kind, None, "classic backend (configured)"))
            continue
        try:
            model = catalog.find(kind, name)
        except ModelNotFoundError as exc:
            severity = "warning" if kind == "swapper" else "error"
            code = f"models.no-{kind}"
            noun = "swap" if kind == "swapper" else kind
            message = (f"no {noun} model: {CONSEQUENCES[kind]}" if name is None
                       else f"configured {kind} {name!r} is not available ({exc}): {CONSEQUENCES[kind]}")
            findings.append(Finding(code, severity, message))
            choices.append(ModelChoice(kind, None, f"none: {CONSEQUENCES[kind]}"))
            continue
        except FaceRightError as exc:
            findings.append(Finding(f"models.bad-{kind}", "error" if kind != "swapper" else "warning", str(exc)))
            choices.append(ModelChoice(kind, None, f"unusable: {exc}"))
            continue
        loads = None
        if load and runtime is not None:
            try:
                runtime.load(model, kind)
                loads = True
            except FaceRightError as exc:
                loads = False
                findings.append(Finding(f"models.{kind}-fails", "error" if kind != "swapper" else "warning",
                                        f"{kind} {model.name!r} does not load: {exc}"))
        choices.append(ModelChoice(kind, model, f"{model.family}, {model.source}, {model.status}", loads))

    versions = dict(_libraries())
    libraries = tuple((name, version or "not installed") for name, version in versions.items())
    if versions["PyAV"] is None:
        findings.append(Finding("media.pyav-missing", "error", "PyAV is not installed: videos cannot be read or "
                                                                "written (pip install av)"))
    cv = versions["OpenCV"]
    if cv is None:
        findings.append(Finding("media.opencv-missing", "error", "OpenCV is not installed (pip install "
                                                                  "'opencv-python-headless<5')"))
    elif (_major(cv) or 0) >= 5:
        findings.append(Finding("media.opencv-5", "warning",
                                f"OpenCV {cv}: OpenCV 5 drops the Haar data and breaks SFace in cv2; "
                                "install 'opencv-python-headless<5'"))
    if shutil.which("ffprobe") is None:
        findings.append(Finding("media.ffprobe-missing", "info",
                                "ffprobe is not on PATH: `label verify` reads labels with its own two readers only "
                                "(install ffmpeg for the third, independent one)"))
    return Diagnosis(
        onnxruntime_version=getattr(ort, "__version__", None) if ort is not None else None,
        onnxruntime_distributions=dists,
        available_providers=available,
        configured_providers=configured,
        used_providers=used,
        cuda_devices=gpus,
        models_folder=str(catalog.folder),
        choices=tuple(choices),
        checks=checks,
        libraries=libraries,
        findings=tuple(findings),
    )

