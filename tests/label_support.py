"""Helpers of the label tests: labelled clips, host-drawn labels, raw writers (fixtures: label_fixtures.py).

Clips come from the real face stills (tests/clips.py); labels are burned frame by frame with
:class:`VisibleLabel` or drawn "by a host" with other fonts; everything is read back from the
encoded file.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

from clips import frames_from_still
from faceright.engine.media.video import VideoWriter
from faceright.labels.aigc import AigcLabel
from faceright.labels.policy import LabelSettings
from faceright.labels.visible import VisibleLabel

PROVIDER = "001191110000MA0000000X10002"
SIZE = (480, 270)
RATE = 24


def write_clip(path: Path, still: np.ndarray, draw: Callable[[np.ndarray, int], np.ndarray], *,
               frames: int = 72, metadata: dict[str, str] | None = None, label=None) -> Path:
    """A clip whose frame ``i`` is ``draw(frame, i)``, written by faceright's media writer (with
    ``label``, a :class:`~faceright.labels.aigc.LabelSigner`, the AIGC label bound to it)."""
    with VideoWriter(path, width=SIZE[0], height=SIZE[1], rate=RATE, metadata=metadata, label=label) as writer:
        for index, frame in enumerate(frames_from_still(still, frames, SIZE, "pan", stamp=False)):
            writer.write(draw(frame, index))
    return path


def burner(settings: LabelSettings, **changes) -> Callable[[np.ndarray, int], np.ndarray]:
    label = VisibleLabel.from_settings(replace(settings, **changes))
    return lambda frame, index: label.burn(frame, index, RATE, 72)


def host_text(text: str, *, at: tuple[int, int], scale: float = 0.9, color=(0, 255, 255)):
    """A label as a host draws it: OpenCV's Hershey font, no outline, on a dark box."""
    def draw(frame: np.ndarray, index: int) -> np.ndarray:
        out = frame.copy()
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
        x, y = at
        cv2.rectangle(out, (x - 6, y - h - 6), (x + w + 6, y + base + 4), (30, 30, 30), -1)
        cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, color, 2, cv2.LINE_AA)
        return out
    return draw


def raw_remux(src: Path, dst: Path, metadata: dict[str, str], *, options: dict[str, str] | None = None) -> Path:
    """Stream-copy with bare PyAV and *no* faceright code: how an outside tool writes a file."""
    with av.open(str(src)) as source, av.open(str(dst), "w", options=options or {}) as out:
        for key, value in metadata.items():
            out.metadata[key] = value
        mapping = {}
        for stream in source.streams:
            if stream.type in ("video", "audio"):
                mapping[stream.index] = out.add_stream_from_template(stream)
        for packet in source.demux([source.streams[i] for i in mapping]):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return dst


def signed_json(settings: LabelSettings, keys, content: str | None = None, **fields) -> str:
    """A label signed by the test studio's key, bound to ``content`` when given, with ``fields`` changed after."""
    from faceright.labels.aigc import load_signing_key

    label = AigcLabel(Label="1", ContentProducer=PROVIDER, ProduceID=fields.pop("ProduceID", "a1b2c3"))
    return replace(label.signed(load_signing_key(keys[0]), content), **fields).to_json()


def codes(findings) -> set[str]:
    return {f.code for f in findings}


def errors(findings) -> set[str]:
    return {f.code for f in findings if f.severity == "error"}

