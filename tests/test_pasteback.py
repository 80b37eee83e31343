"""Paste-back blends a face into its region only: every pixel outside the blend mask stays bit-identical."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceright.engine.align import ARCFACE_TEMPLATE, estimate_norm, norm_crop, template_for
from faceright.engine.swap.masks import box_mask, inner_face_mask
from faceright.engine.swap.pasteback import paste_back, paste_into, patch_roi, warp_patch
from faceright.engine.types import Patch

SIZE = 256


def landmarks_at(x: float, y: float, scale: float, angle_deg: float = 0.0) -> np.ndarray:
    """The ArcFace template scaled, rotated about its centre and placed with its centre at (x, y)."""
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((ARCFACE_TEMPLATE - 56.0) @ rot.T * scale + [x, y]).astype(np.float32)


def noise_patch(landmarks: np.ndarray, seed: int = 0, mask=None) -> Patch:
    crop = np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    return Patch(crop=crop, matrix=estimate_norm(landmarks, SIZE), mask=inner_face_mask(SIZE) if mask is None else mask)


def full_frame_mask(patch: Patch, shape) -> np.ndarray:
    """The oracle: the patch mask warped over the *whole* frame (what a naive paste-back would do)."""
    inverse = cv2.invertAffineTransform(patch.matrix)
    return cv2.warpAffine(np.asarray(patch.mask), inverse, (shape[1], shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def test_pixels_outside_the_blend_mask_are_bit_identical(t1):
    patch = noise_patch(landmarks_at(640, 420, 2.6, angle_deg=17))
    out = paste_back(t1, [patch])
    warped = warp_patch(patch, t1.shape)
    x0, y0, x1, y1 = warped.roi
    outside_roi = np.ones(t1.shape[:2], bool)
    outside_roi[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside_roi], t1[outside_roi])
    zero = warped.alpha == 0
    assert zero.sum() > 1000, "the ROI should have corners the ellipse does not reach"
    assert np.array_equal(out[y0:y1, x0:x1][zero], t1[y0:y1, x0:x1][zero])
    # and the face really changed where the mask weighs
    changed = np.any(out != t1, axis=2)
    assert changed[y0:y1, x0:x1][warped.alpha > 0.5].mean() > 0.95
    # every changed pixel is one the mask weighs (the alpha used is the one checked above)
    assert not changed[outside_roi].any()


def test_roi_warp_agrees_with_a_full_frame_warp(t1):
    patch = noise_patch(landmarks_at(500, 400, 3.1, angle_deg=-25))
    warped = warp_patch(patch, t1.shape)
    full = full_frame_mask(patch, t1.shape)
    x0, y0, x1, y1 = warped.roi
    # the ROI holds all of the mask's support, and far less than the frame
    inside = np.zeros(t1.shape[:2], bool)
    inside[y0:y1, x0:x1] = True
    assert not (full > 0)[~inside].any()
    assert (x1 - x0) * (y1 - y0) < 0.25 * t1.shape[0] * t1.shape[1]
    np.testing.assert_allclose(warped.alpha, full[y0:y1, x0:x1], atol=0.02)


def test_blend_is_the_mask_weighted_mix_of_crop_and_frame(astronaut):
    landmarks = landmarks_at(256, 200, 1.8, angle_deg=8)
    colour = np.array([20, 200, 60], np.uint8)
    patch = Patch(crop=np.tile(colour, (SIZE, SIZE, 1)), matrix=estimate_norm(landmarks, SIZE),
                  mask=inner_face_mask(SIZE))
    out = paste_back(astronaut, [patch])
    warped = warp_patch(patch, astronaut.shape)
    x0, y0, x1, y1 = warped.roi
    a = warped.alpha[..., None].astype(np.float64)
    expected = a * colour + (1 - a) * astronaut[y0:y1, x0:x1]
    assert np.abs(out[y0:y1, x0:x1].astype(np.float64) - expected).max() <= 1.0
    full = warped.alpha > 0.999
    assert full.sum() > 2000
    assert np.abs(out[y0:y1, x0:x1][full].astype(int) - colour).max() <= 1


def test_the_crop_lands_on_the_landmarks(grace_hopper):
    """A marker drawn on the template's nose tip in crop space ends up on the frame's nose landmark."""
    landmarks = landmarks_at(260, 300, 2.2, angle_deg=-30)
    crop = np.zeros((SIZE, SIZE, 3), np.uint8)
    nose = template_for(SIZE)[2]
    cv2.circle(crop, (int(round(nose[0])), int(round(nose[1]))), 6, (255, 255, 255), -1)
    patch = Patch(crop=crop, matrix=estimate_norm(landmarks, SIZE), mask=inner_face_mask(SIZE))
    out = paste_back(grace_hopper, [patch])
    nx, ny = np.round(landmarks[2]).astype(int)
    assert (out[ny - 2:ny + 3, nx - 2:nx + 3] >= 250).all()
    # and the eyes, where the crop is black, are black
    ex, ey = np.round(landmarks[0]).astype(int)
    assert (out[ey, ex] <= 12).all()  # the mask weighs ~0.97 at the eyes


def test_an_aligned_crop_pasted_back_reproduces_the_face(t1):
    """Round trip: the frame's own aligned crop, pasted back, changes the face by less than a grey level or two."""
    landmarks = np.array([[495.0, 320.0], [548.0, 326.0], [520.0, 352.0], [497.0, 380.0], [540.0, 385.0]])
    crop, matrix = norm_crop(t1, landmarks, 512)
    patch = Patch(crop=crop, matrix=matrix, mask=inner_face_mask(512))
    out = paste_back(t1, [patch])
    warped = warp_patch(patch, t1.shape)
    x0, y0, x1, y1 = warped.roi
    face = warped.alpha > 0.5
    diff = np.abs(out[y0:y1, x0:x1].astype(int) - t1[y0:y1, x0:x1].astype(int))[face]
    assert diff.mean() < 2.0


@pytest.mark.parametrize("centre", [(-30, 300), (1290, 440), (640, -20), (640, 900), (5, 5)])
def test_faces_over_the_frame_edge_are_pasted_in_the_clipped_region(t1, centre):
    patch = noise_patch(landmarks_at(*centre, scale=2.0), seed=3)
    out = paste_back(t1, [patch])
    assert out.shape == t1.shape and out.dtype == np.uint8
    roi = patch_roi(patch, t1.shape)
    assert roi is not None
    x0, y0, x1, y1 = roi
    assert 0 <= x0 < x1 <= t1.shape[1] and 0 <= y0 < y1 <= t1.shape[0]
    changed = np.any(out != t1, axis=2)
    assert changed.any()
    changed[y0:y1, x0:x1] = False
    assert not changed.any()


def test_a_face_wholly_outside_the_frame_changes_nothing(t1):
    patch = noise_patch(landmarks_at(-600, 300, 2.0))
    assert patch_roi(patch, t1.shape) is None
    assert np.array_equal(paste_back(t1, [patch]), t1)


def test_several_faces_are_pasted_and_later_ones_go_over_earlier_ones(t1):
    left, right = noise_patch(landmarks_at(300, 400, 2.0), seed=1), noise_patch(landmarks_at(900, 400, 2.0), seed=2)
    both = paste_back(t1, [left, right])
    assert np.array_equal(both, paste_back(paste_back(t1, [left]), [right]))
    for patch in (left, right):
        x0, y0, x1, y1 = patch_roi(patch, t1.shape)
        assert np.array_equal(both[y0:y1, x0:x1], paste_back(t1, [patch])[y0:y1, x0:x1])
    # overlapping: the second patch wins where its mask is full
    top = Patch(crop=np.full((SIZE, SIZE, 3), 200, np.uint8), matrix=left.matrix, mask=left.mask)
    over = paste_back(t1, [left, top])
    warped = warp_patch(top, t1.shape)
    x0, y0, x1, y1 = warped.roi
    assert np.abs(over[y0:y1, x0:x1][warped.alpha > 0.999].astype(int) - 200).max() <= 1


def test_the_source_frame_is_never_modified(t1):
    frame = t1.copy()
    frame.setflags(write=False)
    out = paste_back(frame, [noise_patch(landmarks_at(640, 420, 2.5))])
    assert out is not frame and out.flags.writeable
    assert np.array_equal(frame, t1)
    assert not np.array_equal(out, t1)
    # no patches: an equal copy, still a new array
    same = paste_back(frame, [])
    assert same is not frame and np.array_equal(same, frame)



def test_in_place_blends_into_a_frame_that_is_the_callers_to_change_and_copies_any_other(t1):
    patch = noise_patch(landmarks_at(640, 420, 2.5))
    expected = paste_back(t1, [patch])
    frame = t1.copy()
    out = paste_back(frame, [patch], in_place=True)
    assert out is frame and np.array_equal(frame, expected)
    strided = np.ascontiguousarray(np.repeat(t1, 2, axis=1))[:, ::2]     # not C-contiguous: copied
    out = paste_back(strided, [patch], in_place=True)
    assert out is not strided and np.array_equal(out, expected) and np.array_equal(strided, t1)

def test_paste_into_works_in_place_on_a_canvas(t1):
    canvas = t1.copy()
    patch = noise_patch(landmarks_at(640, 420, 2.5), mask=box_mask(SIZE))
    roi = paste_into(canvas, patch)
    assert roi == patch_roi(patch, t1.shape)
    assert np.array_equal(canvas, paste_back(t1, [patch]))


def test_a_patch_whose_mask_does_not_fit_its_crop_is_refused(t1):
    patch = noise_patch(landmarks_at(640, 420, 2.5), mask=inner_face_mask(128))
    with pytest.raises(ValueError, match="mask must have its crop's size"):
        paste_back(t1, [patch])
