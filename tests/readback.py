"""Read a written media file back with an independent reader: ffprobe, else a fresh PyAV.

``readback(path)`` returns ffprobe's JSON shape (``{"format": {"tags": ...}, "streams":
[{"codec_type", "codec_name", "nb_read_packets", "r_frame_rate", "time_base", "tags",
"color_space", ...}]}``) from ``ffprobe -count_packets -show_format -show_streams``.
Where ffprobe is missing (CI without Debian's ``ffmpeg`` package) the same shape is built
from a fresh ``av.open`` and a ``UserWarning`` says so in the pytest summary: the check
still runs, with one reader fewer, never silently skipped.

``READER`` says which reader answered (``"ffprobe"`` or ``"pyav"``).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

FFPROBE = shutil.which("ffprobe")
READER = "ffprobe" if FFPROBE else "pyav"

_COLOR_NAMES = {
    "color_range": {1: "tv", 2: "pc"},
    "color_primaries": {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020"},
    "color_transfer": {1: "bt709", 6: "smpte170m", 8: "linear", 13: "iec61966-2-1", 14: "bt2020-10"},
    "color_space": {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc"},
}


def readback(path: Path | str) -> dict[str, Any]:
    if FFPROBE:
        done = subprocess.run(
            [FFPROBE, "-v", "error", "-count_packets", "-show_format", "-show_streams", "-of", "json", str(path)],
            capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise AssertionError(f"ffprobe cannot read {path}: {done.stderr.strip()}")
        return json.loads(done.stdout)
    warnings.warn("ffprobe is not installed (apt-get install ffmpeg): media read back with a fresh PyAV "
                  "container only", UserWarning, stacklevel=2)
    return _pyav_readback(Path(path))


def _pyav_readback(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        counts = {s.index: 0 for s in container.streams}
        for packet in container.demux():
            if packet.size:
                counts[packet.stream.index] += 1
        streams = []
        for stream in container.streams:
            cc = stream.codec_context
            entry: dict[str, Any] = {
                "index": stream.index,
                "codec_type": stream.type,
                "codec_name": cc.name if cc is not None else "unknown",
                "nb_read_packets": str(counts[stream.index]),
                "time_base": f"{stream.time_base.numerator}/{stream.time_base.denominator}",
                "tags": dict(stream.metadata),
            }
            if stream.type == "video":
                rate = Fraction(stream.average_rate or stream.base_rate)
                entry["r_frame_rate"] = f"{rate.numerator}/{rate.denominator}"
                entry["width"], entry["height"] = cc.width, cc.height
                for key, code in (("color_range", cc.color_range), ("color_primaries", cc.color_primaries),
                                  ("color_transfer", cc.color_trc), ("color_space", cc.colorspace)):
                    if code in _COLOR_NAMES[key]:
                        entry[key] = _COLOR_NAMES[key][code]
            if stream.duration is not None:
                entry["duration"] = str(float(stream.duration * stream.time_base))
            streams.append(entry)
        return {"format": {"tags": dict(container.metadata)}, "streams": streams}


def streams_of(probe: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in probe["streams"] if s["codec_type"] == kind]


def tag(entry: dict[str, Any], key: str) -> str | None:
    """A tag by key, case-insensitively (Matroska upper-cases its tag names)."""
    for name, value in entry.get("tags", {}).items():
        if name.lower() == key.lower():
            return value
    return None
