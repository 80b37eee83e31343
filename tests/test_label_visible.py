"""The burned-in label: size from the rendered glyphs, placement, schedule, fonts, legibility."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from faceright.labels.fonts import default_font_path
from faceright.engine.ocr import glyph_height
from faceright.labels.policy import POSITIONS, LabelSettings
from faceright.labels.verify import label_text_matches
from faceright.labels.visible import LabelFontError, VisibleLabel

pytest_plugins = ("label_fixtures",)   # keys, settings, ocr, still, plate


def _ink_rows(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


@pytest.mark.parametrize("size", [(320, 240), (480, 270), (1920, 1080), (1080, 1920)])
def test_rendered_glyphs_are_at_least_the_ratio_of_the_shorter_side(size):
    label = VisibleLabel.from_settings(LabelSettings())
    sprite = label.sprite(*size)
    shorter = min(size)
    assert sprite.glyph_height >= 0.065 * shorter
    assert sprite.glyph_height < 0.065 * shorter + 3        # the binary search stops at the smallest size
    # measured again from the pixels of a burned frame: white glyph cores inside the outline
    plain = np.zeros((size[1], size[0], 3), np.uint8)
    burned = label.burn(plain, 0, 24.0)
    rows = np.flatnonzero((burned.min(axis=2) >= 128).any(axis=1))
    assert rows[-1] - rows[0] + 1 >= 0.05 * shorter


@pytest.mark.parametrize("position", POSITIONS)
def test_the_label_sits_at_the_configured_edge_or_corner(position):
    width, height = 480, 270
    label = VisibleLabel.from_settings(LabelSettings(position=position))
    plain = np.full((height, width, 3), 128, np.uint8)
    x1, y1, x2, y2 = _ink_rows(plain, label.burn(plain, 0, 24.0))
    margin = 0.04 * height + 4
    if "left" in position:
        assert x1 <= margin
    if "right" in position:
        assert x2 >= width - margin
    if "top" in position:
        assert y1 <= margin
    if "bottom" in position:
        assert y2 >= height - margin
    if position in ("top", "bottom"):
        assert abs((x1 + x2) / 2 - width / 2) < 6
    if position in ("left", "right"):
        assert abs((y1 + y2) / 2 - height / 2) < 6


def test_burn_leaves_the_input_frame_alone_and_touches_only_the_label_box():
    label = VisibleLabel.from_settings(LabelSettings())
    frame = np.full((270, 480, 3), 90, np.uint8)
    out = label.burn(frame, 0, 24.0)
    assert (frame == 90).all()
    x1, y1, x2, y2 = label.sprite(480, 270).box
    outside = np.ones(frame.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    assert (out[outside] == 90).all() and (out[~outside] != 90).any()


def test_the_rendered_bitmap_is_cached_per_frame_size_on_the_object():
    label = VisibleLabel.from_settings(LabelSettings())
    assert label.sprite(480, 270) is label.sprite(480, 270)
    assert label.sprite(320, 240) is not label.sprite(480, 270)
    assert VisibleLabel.from_settings(LabelSettings()).sprite(480, 270) is not label.sprite(480, 270)


def test_schedule_whole_clip_limited_duration_repeats_and_end():
    whole = VisibleLabel.from_settings(LabelSettings())
    assert all(whole.shows(i, 24) for i in (0, 47, 48, 10_000))
    limited = VisibleLabel.from_settings(LabelSettings(duration_s=2.0))
    assert [limited.shows(i, 24) for i in (0, 47, 48)] == [True, True, False]
    repeating = VisibleLabel.from_settings(LabelSettings(duration_s=2.0, repeat_every_s=10.0, repeat_at_end=True))
    assert [repeating.shows(i, 24, 1000) for i in (47, 48, 239, 240, 287, 288, 951, 952, 999)] == \
        [True, False, False, True, True, False, False, True, True]
    ntsc = VisibleLabel.from_settings(LabelSettings(duration_s=2.0))
    assert ntsc.shows(59, 30000 / 1001) and not ntsc.shows(60, 30000 / 1001)   # 2 s = 59.94 frames → 60 shown


def test_wording_the_shipped_font_cannot_render_is_refused_with_the_missing_characters():
    with pytest.raises(LabelFontError, match="사진"):
        VisibleLabel.from_settings(LabelSettings(wording="AI生成 사진"))


def test_a_configured_font_renders_custom_wording(tmp_path):
    # the shipped font copied elsewhere stands in for a studio's own font file
    font = tmp_path / "studio.otf"
    font.write_bytes(default_font_path().read_bytes())
    label = VisibleLabel.from_settings(LabelSettings(wording="本视频由人工智能合成", font=font))
    assert label.sprite(480, 270).glyph_height >= 0.065 * 270
    with pytest.raises(LabelFontError, match="cannot be loaded"):
        VisibleLabel.from_settings(LabelSettings(font=tmp_path / "missing.ttf"))


def test_wording_that_does_not_fit_the_frame_is_an_error():
    from faceright.errors import ConfigError

    label = VisibleLabel.from_settings(LabelSettings(wording="本视频内容由人工智能生成合成" * 3))
    with pytest.raises(ConfigError, match="does not fit"):
        label.sprite(320, 240)


@pytest.mark.parametrize("plate", ["white", "black", "still"])
@pytest.mark.parametrize("style", ["outline", "box"])
def test_ocr_reads_the_label_on_bright_dark_and_busy_plates(ocr, still, plate, style):
    import cv2

    frames = {"white": np.full((270, 480, 3), 250, np.uint8), "black": np.full((270, 480, 3), 5, np.uint8),
              "still": cv2.resize(still, (480, 270))}
    label = VisibleLabel.from_settings(LabelSettings(style=style))
    burned = label.burn(frames[plate], 0, 24.0)
    found = [b for b in ocr.read(burned) if label_text_matches(b.text, LabelSettings())]
    assert found, [b.text for b in ocr.read(burned)]
    # the glyph height OCR measures from pixels agrees with what was rendered (±20 %)
    rendered = label.sprite(480, 270).glyph_height
    assert 0.8 * rendered <= found[0].glyph_height <= 1.25 * rendered + 2


def test_glyph_height_from_pixels_of_a_plain_text_line():
    import cv2

    crop = np.full((40, 200, 3), 255, np.uint8)
    for x in range(10, 190, 12):                                     # strokes of an 18-row text line
        cv2.rectangle(crop, (x, 12), (x + 4, 29), (0, 0, 0), -1)
    cv2.line(crop, (10, 20), (190, 20), (0, 0, 0), 2)
    assert glyph_height(crop) in (18, 19, 20)


def test_wording_rule_needs_ai_and_generated_and_forgives_ocr_reading_i_as_l():
    rules = LabelSettings()
    assert label_text_matches("AI生成", rules) and label_text_matches("人工智能合成", rules)
    assert label_text_matches("Al生成", rules)
    assert not label_text_matches("AI", rules) and not label_text_matches("生成", rules)
    english = replace(rules, required_generated="生成|合成|GENERATED|Generated")
    assert label_text_matches("AI GENERATED", english) and not label_text_matches("AI GENERATED", rules)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
def test_large_labels_are_measured_at_their_rendered_height(ocr, still, size):
    """Thick strokes of big text leave edge-free rows; the measurement must not fall apart there."""
    import cv2

    label = VisibleLabel.from_settings(LabelSettings())
    burned = label.burn(cv2.resize(still, size), 0, 24.0)
    found = [b for b in ocr.read(burned) if label_text_matches(b.text, LabelSettings())]
    rendered = label.sprite(*size).glyph_height
    assert found and 0.9 * rendered <= found[0].glyph_height <= 1.15 * rendered, (rendered, found)
