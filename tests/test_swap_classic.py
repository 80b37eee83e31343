"""The classic swapper: the donor's inner face, aligned to the target, in the plate's colours; turned faces stay."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from faceright.engine.align import estimate_norm, norm_crop, transform_points, invert
from faceright.engine.swap import ClassicSwapper, TurnedFaceError, paste_back
from faceright.engine.swap.colour import lab_stats, region
from faceright.engine.swap.pasteback import warp_patch
from faceright.engine.types import Donor, Face
from faceright.errors import ConfigError

# faces as faceright's YuNet finds them (landmarks, box)
ASTRONAUT = ([[201.6, 105.5], [245.3, 104.9], [221.0, 127.2], [204.1, 145.4], [242.4, 145.4]], [178, 63, 269, 173])
GRACE = ([[225.6, 194.0], [306.6, 192.8], [266.9, 237.1], [231.1, 270.0], [301.4, 269.3]], [179, 122, 354, 332])


def face(landmarks, box) -> Face:
    return Face(box=np.asarray(box, np.float32), score=0.9, landmarks=np.asarray(landmarks, np.float32))


def turned(landmarks, box, by: float = 0.6) -> Face:
    """The face with its nose moved sideways by ``by`` eye distances: a head turned about 50°."""
    points = np.array(landmarks, np.float32)
    points[2, 0] += by * (points[1, 0] - points[0, 0])
    return face(points, box)


@pytest.fixture(scope="module")
def swapper() -> ClassicSwapper:
    return ClassicSwapper()


@pytest.fixture(scope="module")
def grace_donor(grace_hopper, swapper):
    return swapper.prepare(Donor(grace_hopper, face(*GRACE)))


def test_the_donor_is_aligned_once_and_the_patch_sits_on_the_target_landmarks(swapper, grace_hopper, astronaut, grace_donor):
    crop, _ = norm_crop(grace_hopper, face(*GRACE).landmarks, 256)
    assert np.array_equal(grace_donor.crop, crop)
    (patch,) = swapper.patches(astronaut, [face(*ASTRONAUT)], grace_donor)
    np.testing.assert_array_equal(patch.matrix, estimate_norm(face(*ASTRONAUT).landmarks, 256))
    assert patch.crop.shape == (256, 256, 3) and patch.mask is swapper.mask


def test_the_patch_takes_the_plates_colour_and_keeps_the_donors_features(swapper, astronaut, grace_donor):
    (patch,) = swapper.patches(astronaut, [face(*ASTRONAUT)], grace_donor)
    plate, _ = norm_crop(astronaut, np.asarray(ASTRONAUT[0]), 256)
    where = region(swapper.mask)
    got = lab_stats(cv2.cvtColor(patch.crop, cv2.COLOR_BGR2LAB), where)
    want = lab_stats(cv2.cvtColor(plate, cv2.COLOR_BGR2LAB), where)
    donor = lab_stats(grace_donor.lab, where)
    for c in range(3):
        assert abs(got.mean[c] - want.mean[c]) < 2.0
    assert max(abs(d - w) for d, w in zip(donor.mean, want.mean)) > 5.0, "the two faces' colours must differ"
    gray = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)[where > 0].astype(float)
    assert np.corrcoef(gray(patch.crop), gray(grace_donor.crop))[0, 1] > 0.95
    assert np.corrcoef(gray(patch.crop), gray(plate))[0, 1] < 0.7


def test_without_colour_matching_the_patch_is_the_donor_crop(grace_hopper, astronaut):
    plain = ClassicSwapper(colour=False)
    prepared = plain.prepare(Donor(grace_hopper, face(*GRACE)))
    (patch,) = plain.patches(astronaut, [face(*ASTRONAUT)], prepared)
    assert np.array_equal(patch.crop, prepared.crop)


def test_the_donors_hair_ears_and_background_stay_out(swapper, astronaut, grace_donor):
    (patch,) = swapper.patches(astronaut, [face(*ASTRONAUT)], grace_donor)
    out = paste_back(astronaut, [patch])
    back = invert(patch.matrix)
    scale = 256 / 128  # a 256 crop is the 128 layout: 112 template ×2, shifted 16 px right
    def frame_point(x112, y112):
        return np.round(transform_points(back, [[x112 * scale + 16, y112 * scale]])[0]).astype(int)
    for x, y in [(56, 6), (30, 12), (82, 12), (2, 50), (110, 50), (0, 90), (112, 90)]:  # hairline, temples, ears
        px, py = frame_point(x, y)
        assert np.array_equal(out[py, px], astronaut[py, px]), (x, y)
    changed = np.any(out != astronaut, axis=2)
    warped = warp_patch(patch, astronaut.shape)
    x0, y0, x1, y1 = warped.roi
    assert changed[y0:y1, x0:x1][warped.alpha > 0.5].mean() > 0.9   # the inner face did change
    assert not changed[y0:y1, x0:x1][warped.alpha == 0].any()
    assert changed.sum() < 0.08 * changed.size                        # and little else could


def test_turned_targets_are_skipped_and_logged_and_the_rest_swapped(swapper, astronaut, grace_donor, caplog):
    frontal, away = face(*ASTRONAUT), turned(*ASTRONAUT)
    assert swapper.refusal(frontal) is None
    assert "yaw" in swapper.refusal(away)
    with caplog.at_level(logging.INFO, logger="faceright.engine.swap.classic"):
        patches = swapper.patches(astronaut, [away, frontal], grace_donor)
    assert len(patches) == 1
    np.testing.assert_array_equal(patches[0].matrix, estimate_norm(frontal.landmarks, 256))
    assert "turned too far" in caplog.text and "passed through" in caplog.text


def test_a_turned_donor_is_refused_unless_the_limit_is_lifted(grace_hopper):
    with pytest.raises(TurnedFaceError, match="donor face is turned too far"):
        ClassicSwapper().prepare(Donor(grace_hopper, turned(*GRACE)))
    with pytest.raises(TurnedFaceError):
        ClassicSwapper(max_yaw=60).prepare(Donor(grace_hopper, turned(*GRACE, by=1.2)))  # about 67°
    ClassicSwapper(max_yaw=None).prepare(Donor(grace_hopper, turned(*GRACE, by=1.2)))


def test_patches_batch_is_patches_frame_by_frame(swapper, astronaut, grace_hopper, grace_donor):
    items = [(astronaut, [face(*ASTRONAUT)]), (grace_hopper, []), (astronaut, [face(*ASTRONAUT), turned(*ASTRONAUT)])]
    batched = swapper.patches_batch(items, grace_donor)
    assert [len(row) for row in batched] == [1, 0, 1]
    single = swapper.patches(astronaut, [face(*ASTRONAUT)], grace_donor)[0]
    assert all(np.array_equal(row[0].crop, single.crop) for row in (batched[0], batched[2]))


def test_misuse_is_refused_clearly(swapper, astronaut):
    with pytest.raises(TypeError, match="its own prepare"):
        swapper.patches(astronaut, [face(*ASTRONAUT)], object())
    with pytest.raises(ConfigError, match="multiple of 112 or 128"):
        ClassicSwapper(size=200)
    with pytest.raises(ConfigError, match="unknown classic swapper option.*max_yaww"):
        ClassicSwapper(max_yaww=30)
