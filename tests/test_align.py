"""Alignment agrees with insightface's own face_align, the oracle the models were trained with."""
from __future__ import annotations

import numpy as np
import pytest
from insightface.utils import face_align

from faceright.engine.align import ARCFACE_TEMPLATE, estimate_norm, invert, norm_crop, transform_points


LANDMARK_SETS = [
    ARCFACE_TEMPLATE * 2.3 + [400.0, 120.0],
    np.array([[210.0, 240.0], [290.0, 236.0], [252.0, 285.0], [222.0, 330.0], [281.0, 327.0]]),
    # a rolled face: the template rotated by 25 degrees
    (ARCFACE_TEMPLATE - 56) @ np.array([[np.cos(0.44), -np.sin(0.44)], [np.sin(0.44), np.cos(0.44)]]) * 3 + 500,
]


@pytest.mark.parametrize("size", [112, 128, 224, 256])
@pytest.mark.parametrize("landmarks", LANDMARK_SETS)
def test_estimate_norm_matches_insightface(landmarks, size):
    ours = estimate_norm(landmarks, size)
    theirs = face_align.estimate_norm(np.asarray(landmarks, dtype=np.float32), size)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_norm_crop_matches_insightface(t1):
    landmarks = np.array([[210.0, 240.0], [290.0, 236.0], [252.0, 285.0], [222.0, 330.0], [281.0, 327.0]])
    ours, _ = norm_crop(t1, landmarks, 112)
    theirs = face_align.norm_crop(t1, landmarks.astype(np.float32), 112)
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 1.0


def test_inverse_matrix_maps_template_back_to_landmarks():
    landmarks = LANDMARK_SETS[2]
    matrix = estimate_norm(landmarks, 128)
    back = transform_points(invert(matrix), transform_points(matrix, landmarks))
    np.testing.assert_allclose(back, landmarks, atol=1e-6)
