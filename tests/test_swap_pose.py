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


def _upside_down(points: np.ndarray, *, image_order: bool) -> np.ndarray:
    """``points`` of a picture turned by half a turn about (300, 200); with ``image_order`` named as a
    detector names them, left eye = the eye on the image's left (so the eye line still runs left to right)."""
    turned = np.array([600.0, 400.0]) - points
    if image_order:
        turned = turned[[1, 0, 2, 4, 3]]
    return turned


@pytest.mark.parametrize("image_order", [False, True])
@pytest.mark.parametrize("roll", [-10, 0, 15])
def test_an_upside_down_face_reads_as_half_a_turn_of_roll_and_is_refused(image_order, roll):
    pose = estimate_pose(_upside_down(project(0, roll), image_order=image_order))
    assert abs(pose.roll) == pytest.approx(180 - abs(roll), abs=1.0)
    assert PoseLimits().violations(pose)[-1].startswith("roll ")


def test_an_upside_down_donor_photo_is_refused_and_an_upside_down_plate_face_passed_through(tmp_path, grace_hopper):
    """YuNet finds Grace Hopper turned over with upright-looking landmarks (eyes above the mouth, at a
    lower score), so the landmarks alone cannot tell: the face is looked at turned back as well."""
    import cv2

    from faceright.engine.analysis import ClipFaceFinder
    from faceright.engine.jobs.swap import SwapRequest, prepare_donor
    from faceright.engine.runtime import Runtime
    from faceright.engine.select import Selection, TargetTracker
    from faceright.engine.settings import EngineSettings
    from faceright.engine.swap.pose import TurnedFaceError

    analyser = Runtime(EngineSettings(models_dir=tmp_path / "models")).analyser()
    upright = analyser.one_face(grace_hopper, what="donor")
    turned_image = np.ascontiguousarray(cv2.rotate(grace_hopper, cv2.ROTATE_180))
    turned = analyser.one_face(turned_image, what="donor")
    assert analyser.upside_down(grace_hopper, upright) is None
    assert analyser.upside_down(turned_image, turned) > turned.score + 0.1

    cv2.imwrite(str(tmp_path / "turned.png"), turned_image)
    request = SwapRequest(plate=tmp_path / "p.mp4", donor=tmp_path / "turned.png", output=tmp_path / "o.mp4",
                          labels=None)
    with pytest.raises(TurnedFaceError, match="turned.png is upside down .* rotate the image"):
        prepare_donor(request, analyser)
    for image, targets in ((grace_hopper, 1), (turned_image, 0)):   # on a plate: swapped, or passed through
        finder = ClipFaceFinder(analyser)
        assert len(finder.targets(image, TargetTracker(Selection(rule="largest")))) == targets
