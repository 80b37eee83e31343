"""Head pose from 5 landmarks: yaw, pitch and roll come back from projected 3-D points, with their signs."""
from __future__ import annotations

import numpy as np
import pytest

from faceright.engine.align import ARCFACE_TEMPLATE
from faceright.engine.swap.pose import Pose, PoseLimits, estimate_pose

# a face in eye-distance units: x right, y down, z towards the camera; the nose tip stands half
# an eye distance in front of the eyes (the depth the estimate assumes), mouth corners on the eye plane
FACE_3D = np.array([
    [-0.5, 0.0, 0.0],     # left eye (image left)
    [0.5, 0.0, 0.0],      # right eye
    [0.0, 0.57, 0.5],     # nose tip
    [-0.41, 1.15, 0.0],   # left mouth corner
    [0.41, 1.15, 0.0],    # right mouth corner
])


def project(yaw: float, roll: float = 0.0, scale: float = 80.0, at=(300.0, 200.0)) -> np.ndarray:
    """Orthographic view of FACE_3D turned by ``yaw`` (nose to image right if > 0) and rolled by ``roll``."""
    y, r = np.radians(yaw), np.radians(roll)
    turn = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    points = FACE_3D @ turn.T
    flat = points[:, :2]
    spin = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    return (flat @ spin.T * scale + at).astype(np.float32)


def test_the_template_is_frontal():
    pose = estimate_pose(ARCFACE_TEMPLATE)
    assert abs(pose.yaw) < 1 and abs(pose.pitch) < 1 and abs(pose.roll) < 1


@pytest.mark.parametrize("yaw", [-70, -45, -20, 0, 15, 40, 65])
@pytest.mark.parametrize("roll", [-35, 0, 20])
def test_yaw_and_roll_come_back_from_a_projected_face(yaw, roll):
    pose = estimate_pose(project(yaw, roll))
    assert pose.yaw == pytest.approx(yaw, abs=1.0)
    assert pose.roll == pytest.approx(roll, abs=0.5)


def test_a_lower_nose_reads_as_pitch_down():
    points = project(0)
    down, up = points.copy(), points.copy()
    down[2, 1] += 15
    up[2, 1] -= 15
    assert estimate_pose(down).pitch > 10 and estimate_pose(up).pitch < -10


def test_limits_name_what_is_exceeded():
    limits = PoseLimits(max_yaw=40, max_pitch=None, max_roll=60)
    assert limits.violations(Pose(yaw=-39, pitch=80, roll=59)) == []
    assert limits.violations(Pose(yaw=-56, pitch=0, roll=-70)) == ["yaw 56° > 40°", "roll 70° > 60°"]
    assert PoseLimits(max_yaw=None, max_roll=None).violations(Pose(90, 90, 180)) == []


def test_degenerate_landmarks_read_as_a_profile():
    same = np.tile([[100.0, 100.0]], (5, 1))
    assert abs(estimate_pose(same).yaw) >= 90
