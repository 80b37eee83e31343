"""What an output loses against its plate, said before it is written.

faceright's swap pipeline works on 8-bit BGR frames. A float EXR or 16-bit PNG sequence written as
the same format keeps the plate's own pixels outside the face (:mod:`.fidelity`), and a video plate
deeper than 8 bits written with an encoder deeper than 8 bits keeps its own samples there
(:mod:`.video_fidelity`); by default the output keeps the plate's codec family (:mod:`.codecs`).
Any other high-precision plate (a 10-bit ProRes asked to be H.264, a DPX or EXR sequence written as
another format) comes out with less than it had, over the whole frame. Every such swap says so:
:func:`downgrade_finding` names each loss (bit depth, chroma subsampling, intra-frame → long-GOP)
as a ``media.downgraded`` warning.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from faceright.findings import Finding

from . import fidelity, video_fidelity
from .codecs import has_alpha
from .info import MediaInfo
from .sequence import is_sequence_path
from .video_fidelity import depth_of

__all__ = ["chroma_of", "downgrade_finding"]

#: codecs whose every frame is a key frame (mezzanine and image formats)
INTRA_CODECS = frozenset({"prores", "prores_ks", "dnxhd", "dnxhr", "mjpeg", "ffv1", "png", "rawvideo", "v210",
                          "cineform", "cfhd", "huffyuv", "utvideo", "qtrle", "dpx", "exr", "tiff"})


def chroma_of(pix_fmt: str) -> str:
    """``"4:2:0"``, ``"4:2:2"``, ``"4:4:4"`` for a pixel format's chroma, RGB counting as 4:4:4."""
    name = pix_fmt.lower()
    if "420" in name or name in ("nv12", "nv21", "p010le", "p016le"):
        return "4:2:0"
    if "422" in name or name in ("uyvy422", "yuyv422", "v210", "nv16"):
        return "4:2:2"
    return "4:4:4" if name else ""


def downgrade_finding(plate: MediaInfo, output: Path, writer_options: Mapping[str, Any]) -> Finding | None:
    """The ``media.downgraded`` warning for writing ``plate`` as ``output`` with these writer options, or None."""
    if is_sequence_path(output):
        same = plate.kind == "sequence" and Path(plate.path).suffix.lower() == output.suffix.lower()
        if plate.bit_depth <= 8 or (same and fidelity.applies(Path(plate.path), plate.bit_depth)):
            return None
        loss = f"{plate.bit_depth}-bit {Path(plate.path).suffix.lstrip('.').upper()} → 8-bit"
        return Finding("media.downgraded", "warning",
                       f"{output} is written with less than the plate {plate.path} has ({loss}), over the whole frame: "
                       f"faceright's swap works on 8-bit frames and keeps a plate's own pixels outside the face only "
                       f"when the output has the plate's format (EXR, or PNG, TIFF or DPX deeper than 8 bits): "
                       f"name the output .{Path(plate.path).suffix.lstrip('.').lower()}",
                       {"losses": [loss], "plate": {"path": str(plate.path), "bit_depth": plate.bit_depth},
                        "output": {"path": str(output)}})
    pix_fmt = str(writer_options.get("pix_fmt") or "yuv420p")
    codec = str(writer_options.get("codec") or "libx264")
    losses = []
    out_depth = depth_of(pix_fmt)
    if plate.bit_depth > 8 and not video_fidelity.applies(plate, pix_fmt):   # the swap's 8-bit frames, encoded
        losses.append(f"{plate.bit_depth}-bit → 8-bit")
    elif plate.bit_depth > out_depth:
        losses.append(f"{plate.bit_depth}-bit → {out_depth}-bit")
    plate_chroma, out_chroma = chroma_of(plate.pix_fmt), chroma_of(pix_fmt)
    order = {"4:2:0": 0, "4:2:2": 1, "4:4:4": 2}
    if plate_chroma and order.get(plate_chroma, 0) > order.get(out_chroma, 0):
        losses.append(f"{plate_chroma} → {out_chroma} chroma")
    if has_alpha(plate.pix_fmt or "") and not has_alpha(pix_fmt):
        losses.append("its alpha channel")
    if plate.codec.lower() in INTRA_CODECS and codec in ("libx264", "libx265", "h264_nvenc", "hevc_nvenc"):
        losses.append(f"intra-frame {plate.codec} → long-GOP {codec}")
    if not losses:
        return None
    return Finding("media.downgraded", "warning",
                   f"{output} is written with less than the plate {plate.path} has ({', '.join(losses)}), over the "
                   "whole frame: by default a .mov keeps the plate's codec family, depth and chroma, and a plate "
                   "deeper than 8 bits keeps its own samples outside the face when the output's codec is too "
                   "(ProRes, DNxHR HQX/444, FFV1: --codec chooses); an EXR sequence keeps a float plate's pixels",
                   {"losses": losses, "plate": {"codec": plate.codec, "pix_fmt": plate.pix_fmt,
                                                "bit_depth": plate.bit_depth},
                    "output": {"codec": codec, "pix_fmt": pix_fmt}})
