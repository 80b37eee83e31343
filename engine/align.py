"""5-point alignment to the ArcFace template, and the matrix paste-back inverts.

The template is the one constant every recogniser and the inswapper family were trained
on: eyes, nose tip and mouth corners of a 112×112 crop. Crops of other sizes scale it; a
size that is a multiple of 128 (inswapper's 128) keeps the 112 scale and shifts x by 8,
as the models expect.
"""
from __future__ import annotations

import cv2
import numpy as np

from .types import Frame, Landmarks, Matrix

ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def template_for(size: int) -> np.ndarray:
    """The 5 template points for a square crop of ``size`` pixels."""
    if size % 112 == 0:
        ratio, shift = size / 112.0, 0.0
    elif size % 128 == 0:
        ratio, shift = size / 128.0, 8.0 * size / 128.0
    else:
        raise ValueError(f"crop size must be a multiple of 112 or 128, got {size}")
    dst = ARCFACE_TEMPLATE * ratio
    dst[:, 0] += shift
    return dst


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> Matrix:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src → dst.

    Umeyama's closed form, so the answer is exact and deterministic (no RANSAC).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n = src.shape[0]
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    var_src = (src_c ** 2).sum() / n
    scale = (s * d).sum() / var_src if var_src > 0 else 1.0
    matrix = np.zeros((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rot
    matrix[:, 2] = dst_mean - scale * rot @ src_mean
    return matrix


def estimate_norm(landmarks: Landmarks, size: int = 112) -> Matrix:
    """The 2×3 matrix taking the image to a ``size``² crop aligned on the template."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    return similarity_transform(pts, template_for(size))


def norm_crop(frame: Frame, landmarks: Landmarks, size: int = 112) -> tuple[Frame, Matrix]:
    """The aligned crop and the matrix that made it (paste-back inverts the matrix)."""
    matrix = estimate_norm(landmarks, size)
    crop = cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, matrix


def invert(matrix: Matrix) -> Matrix:
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def transform_points(matrix: Matrix, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]
