"""Which encoder a swap's video output gets: the plate's codec family by default, ``--codec`` when asked.

An editor conforms the swapped shot back into the cut next to its neighbours, so by default the
output keeps the plate's family, depth and chroma as far as an encoder here can write them: ProRes
in → ProRes out (``prores_ks``, 4444 for a 4:4:4 plate, else 422 HQ), DNxHD/DNxHR in → DNxHR of
the plate's depth and chroma, H.264 in → libx264 with the plate's chroma. A plate whose codec
cannot be written (HEVC without libx265, an intra codec without an encoder here) gets the closest
mezzanine (ProRes 422 HQ), and the output's container must hold the codec: ProRes and DNxHR go
into .mov/.mkv; named .mp4 they become H.264, said on the terminal (and ``media.downgraded``).

The swap itself works on 8-bit frames; a 10-bit output of a 10-bit plate is built from the
plate's own samples outside the face (:mod:`.video_fidelity`), so it keeps the precision too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceright.errors import ConfigError

from .info import MediaInfo
from .video_fidelity import depth_of

#: ``--codec`` names → (encoder, pix_fmt, encoder options)
NAMED: dict[str, tuple[str, str, dict[str, str]]] = {
    "h264": ("libx264", "yuv420p", {}),
    "h264-422": ("libx264", "yuv422p", {}),
    "h264-444": ("libx264", "yuv444p", {}),
    "prores": ("prores_ks", "yuv422p10le", {"profile": "3"}),         # 422 HQ
    "prores-4444": ("prores_ks", "yuv444p10le", {"profile": "4"}),
    "dnxhr-hq": ("dnxhd", "yuv422p", {"profile": "dnxhr_hq"}),
    "dnxhr-hqx": ("dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"}),
    "dnxhr-444": ("dnxhd", "yuv444p10le", {"profile": "dnxhr_444"}),
    "ffv1": ("ffv1", "yuv444p10le", {}),
}
#: the containers each encoder's streams can be written into here
_CONTAINERS = {"libx264": (".mov", ".mp4", ".m4v", ".mkv"), "prores_ks": (".mov", ".mkv"),
               "dnxhd": (".mov", ".mkv"), "ffv1": (".mkv", ".mov")}
CHOICES = ("auto", *NAMED)


@dataclass(frozen=True)
class CodecChoice:
    name: str                                  #: a key of :data:`NAMED`
    writer_options: dict[str, Any] = field(default_factory=dict)
    note: str | None = None                    #: what the terminal should be told, if anything


def _ffv1_writes(pix_fmt: str) -> bool:
    import av

    try:
        return pix_fmt in {f.name for f in av.codec.Codec("ffv1", "w").video_formats or ()}
    except (ValueError, av.error.FFmpegError):   # pragma: no cover - an FFmpeg build without FFV1
        return False


def has_alpha(pix_fmt: str) -> bool:
    """Whether a pixel format carries an alpha plane (``yuva444p12le``, ``gbrap``, ``rgba``...)."""
    return pix_fmt.startswith(("yuva", "gbrap", "rgba", "bgra", "argb", "abgr", "ya"))


def _chroma(pix_fmt: str) -> str:
    return "444" if ("444" in pix_fmt or pix_fmt.startswith(("gbr", "rgb", "bgr"))) else \
        "422" if "422" in pix_fmt else "420"


def _like_plate(plate: MediaInfo) -> tuple[str, str | None]:
    """The named codec closest to the plate's, and why when it is not the plate's own family."""
    codec, pix_fmt = plate.codec.lower(), (plate.pix_fmt or "").lower()
    depth, chroma = depth_of(pix_fmt), _chroma(pix_fmt)
    if codec == "prores":
        return ("prores-4444" if chroma == "444" else "prores"), None
    if codec in ("dnxhd", "dnxhr"):
        if chroma == "444":
            return "dnxhr-444", None
        return ("dnxhr-hqx" if depth > 8 else "dnxhr-hq"), None
    if codec == "h264":
        if depth > 8:
            return ("prores-4444" if chroma == "444" else "prores"), \
                f"the plate is {depth}-bit H.264, which libx264 here writes in 8 bits only: written as ProRes"
        return {"420": "h264", "422": "h264-422", "444": "h264-444"}[chroma], None
    if codec == "ffv1":
        return "ffv1", None
    if plate.kind != "video":
        return "h264", None                       # an image sequence made into a movie: the default
    return ("prores-4444" if chroma == "444" else "prores"), \
        f"the plate's {plate.codec} cannot be written here: written as the closest mezzanine, ProRes"


def choose_codec(plate: MediaInfo, output: Path, requested: str | None) -> CodecChoice:
    """The encoder for ``output`` swapped from ``plate``: ``requested`` (a :data:`CHOICES` name), or
    the plate's family (``auto``/None) within what ``output``'s container holds."""
    requested = (requested or "auto").lower()
    if requested not in CHOICES:
        raise ConfigError(f"--codec {requested!r} is not one faceright writes: use one of {', '.join(CHOICES)}")
    suffix = output.suffix.lower()
    note = None
    name = requested
    if requested == "auto":
        name, note = _like_plate(plate)
    encoder, pix_fmt, options = NAMED[name]
    if suffix not in _CONTAINERS[encoder]:
        if requested != "auto":
            holds = " or ".join(_CONTAINERS[encoder])
            raise ConfigError(f"--codec {requested} cannot be written into {suffix}: name the output {holds}")
        kept = {"420": "h264", "422": "h264-422", "444": "h264-444"}[_chroma(pix_fmt)]
        note = (f"{suffix} cannot hold {encoder} video: written as H.264 instead of the plate's family; "
                f"name the output .mov to keep it")
        name = kept
        encoder, pix_fmt, options = NAMED[name]
    if encoder == "ffv1" and requested == "auto" and _ffv1_writes(plate.pix_fmt or ""):
        pix_fmt = plate.pix_fmt                   # lossless: the plate's own pixel format, whatever it is
    if has_alpha(plate.pix_fmt or "") and encoder == "prores_ks" and pix_fmt == "yuv444p10le":
        pix_fmt = "yuva444p10le"                  # ProRes 4444 keeps the plate's alpha
    writer_options: dict[str, Any] = {"codec": encoder, "pix_fmt": pix_fmt}
    if options:
        writer_options["codec_options"] = dict(options)
    return CodecChoice(name, writer_options, note)
