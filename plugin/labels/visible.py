"""The explicit label: text burned into the frames.

``VisibleLabel`` is what the engine's writer calls per frame::

    label = VisibleLabel.from_settings(settings)
    for index, frame in enumerate(frames):
        frame = label.burn(frame, index, rate, total_frames=n)

The text is rendered once per frame size (anti-aliased, white with a dark outline or on a
translucent box, so it reads on bright and dark plates) and kept in this object's own cache.
Its size is found by binary search on the font size until the *rendered glyphs* (ink rows of
the text itself, outline not counted) are at least ``height_ratio`` of the frame's shorter
side: a font size is not a glyph height.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from faceright.errors import ConfigError

from .fonts import default_font_path
from .policy import LabelSettings, Position, Style

if TYPE_CHECKING:
    from PIL import ImageFont

log = logging.getLogger(__name__)

_NONCHARACTER = "\uffff"     # never mapped by a font: renders as .notdef, the "missing glyph" reference


class LabelFontError(ConfigError):
    """The label font cannot render the wording (missing glyphs, unreadable file)."""


@dataclass(frozen=True)
class LabelSprite:
    """The rendered label for one frame size: colour and alpha, and where it goes."""

    color: np.ndarray        #: h×w×3 float32 BGR
    alpha: np.ndarray        #: h×w×1 float32 in [0, 1]
    x: int
    y: int
    glyph_height: int        #: ink rows of the text, in pixels
    font_size: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.alpha.shape[:2]
        return (self.x, self.y, self.x + w, self.y + h)


def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont   # Pillow only where a label is drawn: a swap that is no deliverable never imports it

    try:
        return ImageFont.truetype(str(path), size)
    except OSError as exc:
        raise LabelFontError(f"label font {path} cannot be loaded: {exc}") from exc


def missing_glyphs(path: Path, text: str) -> list[str]:
    """Characters of ``text`` the font has no glyph for (they would show as boxes)."""
    font = load_font(path, 32)
    notdef = font.getmask(_NONCHARACTER)
    reference = (notdef.size, bytes(notdef))
    missing = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        mask = font.getmask(char)
        if (mask.size, bytes(mask)) == reference:
            missing.append(char)
    return missing


@dataclass(eq=False)
class VisibleLabel:
    wording: str
    font: Path
    position: Position = "bottom-right"
    style: Style = "outline"
    height_ratio: float = 0.065
    margin_ratio: float = 0.04
    duration_s: float | None = None
    repeat_every_s: float | None = None
    repeat_at_end: bool = False
    _sprites: dict[tuple[int, int], LabelSprite] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.wording.strip():
            raise ConfigError("the visible label's wording is empty")
        missing = missing_glyphs(self.font, self.wording)
        if missing:
            raise LabelFontError(
                f"label font {self.font} has no glyph for {''.join(missing)!r} in the wording {self.wording!r}; "
                f"set [labels] font to a font that covers it (a CJK font such as Noto Sans CJK)"
            )

    @classmethod
    def from_settings(cls, settings: LabelSettings) -> "VisibleLabel":
        return cls(
            wording=settings.wording,
            font=settings.font if settings.font is not None else default_font_path(),
            position=settings.position,
            style=settings.style,
            height_ratio=settings.height_ratio,
            margin_ratio=settings.margin_ratio,
            duration_s=settings.duration_s,
            repeat_every_s=settings.repeat_every_s,
            repeat_at_end=settings.repeat_at_end,
        )

    # -- when -----------------------------------------------------------------------------
    def shows(self, frame_index: int, rate: float, total_frames: int | None = None) -> bool:
        """Whether the label is on frame ``frame_index`` of a clip at ``rate`` fps."""
        if self.duration_s is None:
            return True
        span = math.ceil(self.duration_s * rate - 1e-9)          # frames per showing
        if frame_index < span:
            return True
        if self.repeat_every_s is not None:
            every = self.repeat_every_s * rate
            start = math.floor(frame_index / every) * every
            if frame_index - math.ceil(start - 1e-9) < span:
                return True
        if self.repeat_at_end and total_frames is not None and frame_index >= total_frames - span:
            return True
        return False

    # -- what -----------------------------------------------------------------------------
    def sprite(self, width: int, height: int) -> LabelSprite:
        """The label rendered for a ``width``×``height`` frame (cached per size)."""
        key = (width, height)
        if key not in self._sprites:
            self._sprites[key] = self._render(width, height)
        return self._sprites[key]

    def _ink_height(self, size: int) -> int:
        from PIL import Image, ImageDraw

        font = load_font(self.font, size)
        left, top, right, bottom = font.getbbox(self.wording)
        mask = Image.new("L", (right - left + 2, bottom - top + 2))
        ImageDraw.Draw(mask).text((1 - left, 1 - top), self.wording, font=font, fill=255)
        rows = np.flatnonzero(np.asarray(mask).max(axis=1) >= 128)
        return int(rows[-1] - rows[0] + 1) if rows.size else 0

    def _render(self, width: int, height: int) -> LabelSprite:
        shorter = min(width, height)
        target = math.ceil(self.height_ratio * shorter)
        low, high = 1, max(8, target * 4)
        while low < high:                                  # smallest size whose glyphs reach the target
            mid = (low + high) // 2
            if self._ink_height(mid) >= target:
                high = mid
            else:
                low = mid + 1
        size = low
        font = load_font(self.font, size)
        stroke = max(1, round(size * 0.08))
        pad = stroke + (max(2, round(size * 0.25)) if self.style == "box" else 1)
        left, top, right, bottom = font.getbbox(self.wording, stroke_width=stroke)
        w, h = right - left + 2 * pad, bottom - top + 2 * pad
        if w > width or h > height:
            raise ConfigError(
                f"the visible label {self.wording!r} at {self.height_ratio:.1%} of the shorter side needs "
                f"{w}×{h} px and does not fit a {width}×{height} frame; shorten the wording"
            )
        from PIL import Image, ImageDraw

        image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        if self.style == "box":
            draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=pad, fill=(0, 0, 0, 150))
            draw.text((pad - left, pad - top), self.wording, font=font, fill=(255, 255, 255, 255))
        else:
            draw.text((pad - left, pad - top), self.wording, font=font, fill=(255, 255, 255, 255),
                      stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
        rgba = np.asarray(image).astype(np.float32)
        color = np.ascontiguousarray(rgba[:, :, 2::-1])
        alpha = rgba[:, :, 3:4] / 255.0
        x, y = self._place(width, height, w, h, round(self.margin_ratio * shorter))
        glyphs = self._ink_height(size)
        log.debug("label %r for %dx%d: font size %d, glyphs %d px (target %d) at (%d, %d)",
                  self.wording, width, height, size, glyphs, target, x, y)
        return LabelSprite(color=color, alpha=alpha, x=x, y=y, glyph_height=glyphs, font_size=size)

    def _place(self, width: int, height: int, w: int, h: int, margin: int) -> tuple[int, int]:
        vertical, _, horizontal = self.position.partition("-")
        if not horizontal and vertical in ("left", "right"):
            vertical, horizontal = "middle", vertical
        x = {"left": margin, "right": width - w - margin}.get(horizontal, (width - w) // 2)
        y = {"top": margin, "bottom": height - h - margin}.get(vertical, (height - h) // 2)
        return max(0, x), max(0, y)

    # -- burn -----------------------------------------------------------------------------
    def burn(self, frame: np.ndarray, frame_index: int, rate: float, total_frames: int | None = None,
             *, inplace: bool = False) -> np.ndarray:
        """``frame`` (H×W×3 BGR uint8) with the label burned in where the schedule shows it."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an H×W×3 uint8 BGR frame, got {frame.shape} {frame.dtype}")
        if not self.shows(frame_index, rate, total_frames):
            return frame
        out = frame if inplace else frame.copy()
        sprite = self.sprite(frame.shape[1], frame.shape[0])
        x1, y1, x2, y2 = sprite.box
        roi = out[y1:y2, x1:x2].astype(np.float32)
        blended = roi * (1.0 - sprite.alpha) + sprite.color * sprite.alpha
        out[y1:y2, x1:x2] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out
