"""The GPU's video engines: NVDEC to decode and NVENC to encode, where they work.

PyAV's wheels carry an FFmpeg built with ``h264_nvenc``/``hevc_nvenc`` and the ``cuda`` hardware
device; whether they run depends on the machine (an NVIDIA driver and a device). Nothing here
assumes: :func:`probe_nvenc` opens the encoder on a small picture, and a reader asked for NVDEC
(``VideoReader(hwaccel="cuda")``) tries the hardware device when it opens the file. Each says
why when it cannot, and :func:`codec_plan` decides, from ``[engine] gpu_codecs``:

- ``"auto"`` (default): the GPU's codecs when the swap's sessions run on CUDA/TensorRT and the
  engines open; otherwise the CPU's (libx264, software decode), the reason logged once;
- ``"on"``: required; a machine where they do not open refuses the job with the reason;
- ``"off"``: the CPU's codecs always (byte-identical outputs across GPU and CPU machines).

NVENC has no CRF: libx264's ``crf``/``preset`` are mapped to NVENC's constant-quality VBR
(``rc=vbr``, ``cq=crf``, ``b=0``) and its presets ``p1`` (fastest) to ``p7`` (best).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from faceright.errors import ConfigError

from ..settings import GPU_CODEC_CHOICES, check_gpu_codecs

log = logging.getLogger(__name__)

NVENC = "h264_nvenc"
NVDEC = "cuda"   #: the FFmpeg hardware device type PyAV's ``HWAccel`` opens for NVDEC

#: libx264 preset → NVENC preset (p1 fastest … p7 slowest, best)
_NVENC_PRESETS = {"ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p4",
                  "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7", "placebo": "p7"}


@dataclass(frozen=True)
class Probe:
    """Whether one hardware engine opens here, and why not when it does not."""

    name: str
    works: bool
    reason: str = ""


@dataclass(frozen=True)
class CodecPlan:
    """The codecs a swap uses: extra reader/writer options and what was decided, in words."""

    reader_options: Mapping[str, Any] = field(default_factory=dict)
    writer_options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def on_gpu(self) -> bool:
        return bool(self.reader_options.get("hwaccel") or self.writer_options.get("codec") == NVENC)


def failure_reason(exc: BaseException) -> str:
    """Why a hardware engine did not open, in words (FFmpeg's EPERM: no driver or device)."""
    if isinstance(exc, PermissionError):
        return f"{exc.strerror or exc} (no NVIDIA driver or device this process can open)"
    return str(exc).strip() or type(exc).__name__


def probe_nvenc(codec: str = NVENC, *, device_id: int = 0) -> Probe:
    """Open ``codec`` on a 256×256 picture: the cheapest proof that NVENC encodes on this machine."""
    import av

    if codec not in av.codecs_available:
        return Probe(codec, False, f"this FFmpeg build (PyAV {av.__version__}) has no {codec}")
    try:
        context = av.CodecContext.create(codec, "w")
        context.width = context.height = 256
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, 24)
        context.options = {"gpu": str(device_id)}
        context.open()
    except Exception as exc:   # PyAV raises FFmpegError subclasses, PermissionError, ValueError…
        return Probe(codec, False, f"{codec} does not open here: {failure_reason(exc)}")
    return Probe(codec, True)


def nvenc_options(crf: int | None, preset: str | None) -> dict[str, Any]:
    """Writer options for NVENC that stand for libx264's ``crf``/``preset``."""
    options = {"rc": "vbr", "cq": str(18 if crf is None else max(0, min(51, int(crf)))), "b": "0",
               "preset": _NVENC_PRESETS.get(preset or "veryfast", "p4"), "tune": "hq"}
    return {"codec": NVENC, "crf": None, "preset": None, "codec_options": options}


def codec_plan(choice: str, *, sessions_on_gpu: bool, video_in: bool, video_out: bool,
               writer_options: Mapping[str, Any], device_id: int = 0,
               nvenc: Probe | None = None) -> CodecPlan:
    """Which decoder and encoder a swap uses (see the module's docstring).

    ``writer_options`` are the request's own: a codec chosen there is kept. ``nvenc`` is a probe
    already made (a runtime keeps its own, so a service probes once); None probes now when needed."""
    choice = check_gpu_codecs(choice)
    if choice == "off" or (choice == "auto" and not sessions_on_gpu) or not (video_in or video_out):
        return CodecPlan()
    reader: dict[str, Any] = {}
    writer: dict[str, Any] = {}
    notes: list[str] = []
    if video_in:
        reader = {"hwaccel": NVDEC, "hwaccel_device": device_id, "hwaccel_required": choice == "on"}
        notes.append("decode on NVDEC (software when the device does not open)" if choice == "auto"
                     else "decode on NVDEC")
    if video_out and "codec" not in writer_options:
        probe = nvenc if nvenc is not None else probe_nvenc(device_id=device_id)
        if probe.works:
            writer = nvenc_options(writer_options.get("crf", 18), writer_options.get("preset", "veryfast"))
            notes.append(f"encode on NVENC ({NVENC}, constant quality {writer['codec_options']['cq']})")
        elif choice == "on":
            raise ConfigError(f"[engine] gpu_codecs = \"on\", but {probe.reason}; set gpu_codecs = \"auto\" "
                              "to encode with libx264 on such machines")
        else:
            notes.append(f"encode with libx264: {probe.reason}")
            log.info("NVENC not used: %s", probe.reason)
    return CodecPlan(reader, writer, tuple(notes))


def hwaccel_for(device_type: str, device_id: int) -> Any:
    """PyAV's ``HWAccel`` for ``device_type`` on ``device_id``, falling back to software per stream
    when the codec has no hardware path (H.264, HEVC, AV1, VP9 have NVDEC paths; ProRes has none)."""
    from av.codec.hwaccel import HWAccel

    return HWAccel(device_type=device_type, device=str(device_id), allow_software_fallback=True)


__all__ = ["CodecPlan", "GPU_CODEC_CHOICES", "NVDEC", "NVENC", "Probe", "codec_plan",
           "failure_reason", "hwaccel_for", "nvenc_options", "probe_nvenc"]
