"""Short test clips and image sequences built from the real face stills.

Built with raw PyAV / OpenCV on purpose, *not* with ``faceright.engine.media``: a clip made
here is an independent source, so reader tests do not depend on the writer under test.

Every frame carries its own index in a strip of black/white 8×8 blocks along the bottom
left edge (:func:`stamp_index` / :func:`read_index`), away from the face, so a test can
tell by content which frame it got (exact ranges, seeking) even after a face swap has
changed the middle of the frame. The code survives libx264 at the default CRF.

Typical use::

    from clips import make_clip, make_sequence, read_index   # tests/ is on sys.path under pytest

    clip = make_clip(tmp_path / "plate.mov", astronaut, frames=48, motion="pan")
    seq = make_sequence(tmp_path / "plate.%04d.png", astronaut, frames=10, first=1001)

``make_clip`` writes H.264 (B-frames on, a keyframe every 12 frames so seeking is really
exercised), an AAC stereo tone as audio whose pitch rises 200 Hz a second from 440 Hz
(:func:`tone_frequency`, so the time of an audio cut can be read from its pitch), a start
timecode, and optional container metadata. All sizes must be even (yuv420p).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Literal
from collections.abc import Iterator

import av
import cv2
import numpy as np

Motion = Literal["still", "pan", "zoom", "flip", "brightness"]
MOTIONS: tuple[Motion, ...] = ("still", "pan", "zoom", "flip", "brightness")

#: bits of the frame-index code (frames 0..4095)
INDEX_BITS = 12
#: side of one code block in pixels (a multiple of 8: one block per macroblock row)
BLOCK = 8
#: the strip starts with a fixed white/black pair so a reader can tell a code is present
_GUARD = (1, 0)


def stamp_index(frame: np.ndarray, index: int) -> np.ndarray:
    """Write ``index`` into the bottom-left strip of ``frame`` (in place) and return it."""
    if not 0 <= index < 2 ** INDEX_BITS:
        raise ValueError(f"index {index} does not fit in {INDEX_BITS} bits")
    bits = list(_GUARD) + [(index >> (INDEX_BITS - 1 - b)) & 1 for b in range(INDEX_BITS)]
    height, width = frame.shape[:2]
    if width < BLOCK * len(bits) or height < BLOCK:
        raise ValueError(f"frame {width}×{height} too small for the index strip")
    y0 = height - BLOCK
    for b, bit in enumerate(bits):
        frame[y0:height, b * BLOCK:(b + 1) * BLOCK] = 255 if bit else 0
    return frame


def read_index(frame: np.ndarray) -> int:
    """Decode the index written by :func:`stamp_index`; raises ``ValueError`` if absent."""
    height = frame.shape[0]
    y0 = height - BLOCK
    values = []
    for b in range(len(_GUARD) + INDEX_BITS):
        # the centre of each block: away from chroma bleeding at the block edges
        block = frame[y0 + 2:height - 2, b * BLOCK + 2:(b + 1) * BLOCK - 2]
        values.append(float(block.mean()))
    if not (values[0] > 200 and values[1] < 55):
        raise ValueError(f"no index strip in this frame (guard blocks read {values[0]:.0f}, {values[1]:.0f})")
    bits = [1 if v > 127 else 0 for v in values[len(_GUARD):]]
    if any(55 <= v <= 200 for v in values[len(_GUARD):]):
        raise ValueError(f"index strip unreadable: block means {[round(v) for v in values]}")
    return int("".join(map(str, bits)), 2)


def frames_from_still(
    still: np.ndarray,
    frames: int,
    size: tuple[int, int] = (320, 240),
    motion: Motion = "pan",
    stamp: bool = True,
    focus: tuple[float, float] = (0.5, 0.3),
) -> Iterator[np.ndarray]:
    """Yield ``frames`` BGR frames of ``size`` (width, height) made from ``still``.

    ``still``: the whole still, letterboxed; ``pan``: a window sliding left to right;
    ``zoom``: a window closing in on the centre; ``flip``: mirrored every 12 frames;
    ``brightness``: a gain ramp 0.6 → 1.3. The moving windows are kept as close as they can
    to ``focus`` (x, y as fractions of the still; the default suits head-and-shoulders
    portraits such as astronaut and grace_hopper), so the face stays in view in all of them.
    """
    if motion not in MOTIONS:
        raise ValueError(f"motion {motion!r}: expected one of {MOTIONS}")
    width, height = size
    # fit the still so that it covers the frame with a 15 % margin to move in
    scale = 1.15 * max(width / still.shape[1], height / still.shape[0])
    big = cv2.resize(still, (round(still.shape[1] * scale), round(still.shape[0] * scale)),
                     interpolation=cv2.INTER_AREA)
    bh, bw = big.shape[:2]
    fx, fy = focus[0] * bw, focus[1] * bh

    def window(w: int, h: int, x: float | None = None) -> tuple[int, int]:
        cx = fx if x is None else x
        return (int(np.clip(round(cx - w / 2), 0, bw - w)), int(np.clip(round(fy - h / 2), 0, bh - h)))

    for i in range(frames):
        t = i / max(1, frames - 1)
        if motion == "still":
            s = min(width / still.shape[1], height / still.shape[0])
            small = cv2.resize(still, (round(still.shape[1] * s), round(still.shape[0] * s)),
                               interpolation=cv2.INTER_AREA)
            frame = np.zeros((height, width, 3), np.uint8)
            y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
            frame[y:y + small.shape[0], x:x + small.shape[1]] = small
        elif motion == "zoom":
            # from the widest window of the frame's aspect down to a 1:1 crop of ``big``
            widest = min(bw / width, bh / height)
            k = widest - t * (widest - 1.0)
            cw, ch = round(width * k), round(height * k)
            x, y = window(cw, ch)
            frame = cv2.resize(big[y:y + ch, x:x + cw], (width, height), interpolation=cv2.INTER_AREA)
        else:
            x, y = window(width, height, x=width / 2 + t * (bw - width) if motion == "pan" else None)
            frame = big[y:y + height, x:x + width].copy()
            if motion == "flip" and (i // 12) % 2 == 1:
                frame = np.ascontiguousarray(frame[:, ::-1])
            elif motion == "brightness":
                frame = np.clip(frame.astype(np.float32) * (0.6 + 0.7 * t), 0, 255).astype(np.uint8)
        if stamp:
            stamp_index(frame, i)
        yield frame


#: the audio tone rises by this many Hz a second from TONE_START_HZ, so a test can tell
#: from the pitch at which time a cut of the audio begins (see :func:`tone_frequency`)
TONE_START_HZ = 440.0
TONE_SLOPE_HZ = 200.0


def tone_frequency(seconds: float) -> float:
    """The pitch of :func:`make_clip`'s audio ``seconds`` after the clip starts."""
    return TONE_START_HZ + TONE_SLOPE_HZ * seconds


def _tone(samples: int, start: int, rate: int) -> np.ndarray:
    t = (np.arange(samples) + start) / rate
    return (0.5 * np.sin(2 * np.pi * (TONE_START_HZ * t + TONE_SLOPE_HZ / 2 * t * t))).astype(np.float32)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency (Hz) in a mono signal, by FFT with a Hann window."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=8 * len(samples)))
    return float(np.fft.rfftfreq(8 * len(samples), 1 / rate)[int(np.argmax(spectrum))])


def make_clip(
    path: Path | str,
    still: np.ndarray,
    *,
    frames: int = 48,
    size: tuple[int, int] = (320, 240),
    rate: Fraction | int | str = 24,
    motion: Motion = "pan",
    audio: bool = True,
    audio_rate: int = 48000,
    timecode: str | None = "01:00:00:00",
    metadata: dict[str, str] | None = None,
    codec: str = "libx264",
    gop: int = 12,
    color: dict[str, int] | None = None,
    focus: tuple[float, float] = (0.5, 0.3),
    start: float = 0.0,
    pix_fmt: str = "yuv420p",
    codec_options: dict[str, str] | None = None,
    fine_detail: bool = False,
) -> Path:
    """Write a short clip made from ``still`` and return its path.

    The container follows the suffix (.mov, .mp4, .mkv). ``rate`` is exact (``"30000/1001"``
    or a Fraction). ``audio`` adds an AAC stereo rising tone as long as the video. ``timecode``
    goes into the video stream's metadata (a tmcd track in MOV/MP4, a tag in MKV).
    ``color``: codec-context colour tags to set, e.g. ``{"colorspace": 1, "color_primaries": 1,
    "color_trc": 1, "color_range": 1}`` (ffmpeg's enum values; 1 = BT.709 / limited).
    ``start`` shifts the container's clock (FFmpeg's ``output_ts_offset``): frame 0 then sits
    at ``start`` seconds, as in camera files and broadcast streams. ``pix_fmt``/``codec_options``
    make mezzanine plates (``codec="prores_ks", pix_fmt="yuv422p10le", codec_options={"profile": "3"}``:
    ProRes 422 HQ); ``fine_detail`` gives such a plate detail finer than 8 bits (a 16-bit ripple of
    ±half an 8-bit step over each frame), which an 8-bit copy of it cannot hold.
    """
    path = Path(path)
    rate = Fraction(rate)
    options = {"movflags": "use_metadata_tags"} if path.suffix.lower() in (".mov", ".mp4") else {}
    if start:
        options["output_ts_offset"] = str(start)
    with av.open(str(path), "w", options=options) as out:
        for key, value in (metadata or {}).items():
            out.metadata[key] = value
        video = out.add_stream(codec, rate=rate)
        video.width, video.height = size
        video.pix_fmt = pix_fmt
        if codec == "libx264":
            video.options = {"preset": "veryfast", "crf": "18", "bf": "3", "g": str(gop), "keyint_min": str(gop)}
        if codec_options:
            video.options = dict(codec_options)
        if timecode:
            video.metadata["timecode"] = timecode
        for key, value in (color or {}).items():
            setattr(video.codec_context, key, value)
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=audio_rate)
            sound.layout = "stereo"
        for i, image in enumerate(frames_from_still(still, frames, size, motion, focus=focus)):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            if fine_detail:
                yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
                ripple = (np.sin(xx / 3.0 + yy / 5.0 + i) * 120).astype(np.int32)[:, :, None]
                deep = np.clip(image.astype(np.int32) * 257 + ripple, 0, 65535).astype(np.uint16)
                frame = av.VideoFrame.from_ndarray(deep, format="bgr48le")
            if color and "colorspace" in color:
                frame = frame.reformat(format="yuv420p", dst_colorspace=_sws_space(color["colorspace"]),
                                       dst_color_range=color.get("color_range") or None)
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            total = round(frames / rate * audio_rate)
            for start in range(0, total, 1024):
                n = min(1024, total - start)
                wave = _tone(n, start, audio_rate)
                chunk = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
                chunk.sample_rate = audio_rate
                chunk.pts = start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def _sws_space(avcol_spc: int) -> str:
    return {1: "itu709", 5: "itu601", 6: "itu601", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}.get(avcol_spc, "default")


def make_sequence(
    pattern: Path | str,
    still: np.ndarray,
    *,
    frames: int = 10,
    first: int = 1001,
    size: tuple[int, int] = (160, 120),
    motion: Motion = "pan",
    bit_depth: Literal[8, 16] = 8,
    skip: tuple[int, ...] = (),
    focus: tuple[float, float] = (0.5, 0.3),
) -> Path:
    """Write a PNG sequence with ``pattern`` (``name.%04d.png``) numbered from ``first``.

    Frame *number* ``first + i`` carries index ``i`` in its strip. ``bit_depth=16`` writes
    16-bit PNGs (the 8-bit values × 257, so ``read_index`` works after ``>> 8``). Frame
    numbers in ``skip`` are not written (to make a sequence with holes). Returns the pattern.
    """
    pattern = Path(pattern)
    if "%" not in pattern.name:
        raise ValueError(f"{pattern}: use a printf pattern such as plate.%04d.png")
    for i, image in enumerate(frames_from_still(still, frames, size, motion, focus=focus)):
        number = first + i
        if number in skip:
            continue
        data = image.astype(np.uint16) * 257 if bit_depth == 16 else image
        target = pattern.parent / (pattern.name % number)
        if not cv2.imwrite(str(target), data):
            raise OSError(f"cannot write {target}")
    return pattern
