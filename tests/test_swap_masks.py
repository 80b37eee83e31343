"""Blend masks cover the inner face and nothing past it; L*a*b* transfer moves one face's colour onto another's."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceright.engine.align import norm_crop, template_for
from faceright.engine.swap.colour import lab_stats, lab_transfer, region
from faceright.engine.swap.masks import FaceEllipse, box_mask, inner_face_mask, mask_bounds


def at(mask: np.ndarray, size: int, x: float, y: float) -> float:
    """The mask weight at a point given in 112-template units (x shifted as the crop's template is)."""
    t = template_for(size)
    scale = (t[1, 0] - t[0, 0]) / (73.5318 - 38.2946)
    shift = t[0, 0] - 38.2946 * scale
    return float(mask[int(round(y * scale)), int(round(x * scale + shift))])


@pytest.mark.parametrize("size", [112, 128, 224, 256, 512])
def test_inner_face_mask_covers_eyes_nose_mouth_and_leaves_hair_and_ears_out(size):
    mask = inner_face_mask(size)
    assert mask.shape == (size, size) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    for x, y in template_for(112):  # eyes, nose tip, mouth corners
        assert at(mask, size, x, y) > 0.9
    # the ellipse's half-weight line: brows to chin, cheek to cheek
    assert 0.3 < at(mask, size, 56, 32) < 0.7 and 0.3 < at(mask, size, 20, 74) < 0.7
    assert at(mask, size, 56, 20) < 0.05           # the top of the forehead
    assert at(mask, size, 56, 8) == 0.0            # the hairline
    assert at(mask, size, 1, 60) == 0.0            # beside the cheeks: ears, hair, background
    assert at(mask, size, 111, 60) == 0.0
    # nothing on the crop's border, so a pasted crop never shows its edge
    assert not mask[0].any() and not mask[-1].any() and not mask[:, 0].any() and not mask[:, -1].any()


def test_masks_are_cached_and_read_only():
    assert inner_face_mask(256) is inner_face_mask(256)
    assert box_mask(128) is box_mask(128)
    with pytest.raises(ValueError):
        inner_face_mask(256)[100, 100] = 0.0
    wider = inner_face_mask(256, FaceEllipse(half_width=44.0))
    assert wider is not inner_face_mask(256) and wider.sum() > inner_face_mask(256).sum()


def test_box_mask_keeps_a_feathered_margin():
    mask = box_mask(128, margin=0.1, feather=0.05)
    assert mask[64, 64] == pytest.approx(1.0, abs=1e-3)
    x0, y0, x1, y1 = mask_bounds(mask)
    assert 13 <= x0 <= 20 and 13 <= y0 <= 20 and 108 <= x1 <= 115 and 108 <= y1 <= 115  # 0 on the 12.8 px margin
    assert np.all(np.diff(mask[64, :64]) >= -1e-6)  # rises monotonically towards the centre
    with pytest.raises(ValueError):
        box_mask(128, margin=0.6)


def test_mask_bounds_of_an_empty_mask_is_none():
    assert mask_bounds(np.zeros((8, 8), np.float32)) is None
    m = np.zeros((8, 8), np.float32)
    m[2:4, 3:7] = 0.5
    assert mask_bounds(m) == (3, 2, 7, 4)


def test_lab_transfer_gives_the_source_the_references_statistics(astronaut, grace_hopper):
    # two real faces, aligned alike (landmarks from YuNet on these images, rounded)
    a, _ = norm_crop(astronaut, np.array([[200.4, 111.7], [247.2, 112.4], [221.5, 133.9], [204.7, 157.2], [241.1, 157.7]]), 256)
    g, _ = norm_crop(grace_hopper, np.array([[226.0, 211.4], [306.2, 213.1], [266.4, 253.6], [234.4, 289.6], [298.4, 291.0]]), 256)
    mask = inner_face_mask(256)
    where = region(mask)
    out = lab_transfer(a, g, mask)
    got = lab_stats(cv2.cvtColor(out, cv2.COLOR_BGR2LAB), where)
    want = lab_stats(cv2.cvtColor(g, cv2.COLOR_BGR2LAB), where)
    before = lab_stats(cv2.cvtColor(a, cv2.COLOR_BGR2LAB), where)
    for c in range(3):
        assert abs(got.mean[c] - want.mean[c]) < 2.0
        assert abs(got.std[c] - want.std[c]) < 0.15 * want.std[c] + 1.0
    assert max(abs(b - w) for b, w in zip(before.mean, want.mean)) > 5.0, "the faces' colours must differ to begin with"
    # the features stay the source's: the result correlates with the source's luminance, not the reference's
    lum = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)[where > 0].astype(float)
    assert np.corrcoef(lum(out), lum(a))[0, 1] > 0.95
    assert np.corrcoef(lum(out), lum(g))[0, 1] < 0.8


def test_lab_transfer_refuses_mismatched_sizes_and_empty_regions(astronaut):
    crop = astronaut[:256, :256]
    with pytest.raises(ValueError, match="one size"):
        lab_transfer(crop, astronaut[:128, :128], inner_face_mask(256))
    with pytest.raises(ValueError, match="no region"):
        lab_transfer(crop, crop, np.zeros((256, 256), np.float32))
