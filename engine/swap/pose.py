"""Head pose from the 5 landmarks, enough to tell a face that can be swapped flat from one that cannot.

A 2-D swap (the classic backend, and any crop-based model) aligns faces by a similarity
transform. That handles roll (it rotates) and scale, but not yaw: a face turned away shows one
cheek and hides the other, and a frontal donor pasted on it looks flat and wrong. Yaw is read
from how far the nose tip sits to one side of the face's midline (the line from the eyes'
midpoint to the mouth's), in units of the eye distance: eyes and mouth lie on the face plane,
the nose sticks out of it, so the nose moves off the midline as the head turns. With the nose tip about half an eye distance in front of the eyes,
``offset / eye_distance ≈ 0.5·tan(yaw)``, which gives an approximate angle. Pitch is read the
same way from where the nose sits between the eye line and the mouth line.

These are estimates from 5 points, good to tell frontal (< 20°) from turned (> 45°), not a
head-pose solver.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from faceright.errors import NoFaceError

from ..types import Landmarks

__all__ = ["Pose", "PoseLimits", "TurnedFaceError", "estimate_pose"]

#: nose-tip depth in front of the eyes, in eye distances (see the module docstring)
NOSE_DEPTH = 0.5
#: where the nose tip sits between eye line (0) and mouth line (1) on the ArcFace template
FRONTAL_NOSE_HEIGHT = 0.495


class TurnedFaceError(NoFaceError):
    """A face is turned too far from the camera to be swapped in 2-D."""


@dataclass(frozen=True)
class Pose:
    """Approximate head pose in degrees.

    Positive yaw: the nose points to the image's right; positive pitch: down; positive roll:
    the eye line turns clockwise on screen (image y grows downwards). An upside-down face (mouth
    above the eyes) has a roll near ±180°.
    """

    yaw: float
    pitch: float
    roll: float

    def __str__(self) -> str:
        return f"yaw {self.yaw:+.0f}°, pitch {self.pitch:+.0f}°, roll {self.roll:+.0f}°"


@dataclass(frozen=True)
class PoseLimits:
    """How far a face may turn and still be swapped; ``None`` means no limit on that axis."""

    max_yaw: float | None = 40.0
    max_pitch: float | None = None
    max_roll: float | None = 60.0

    def violations(self, pose: Pose, *, slack: float = 0.0) -> list[str]:
        """What is beyond the limits, e.g. ``["yaw 56° > 40°"]``; empty when the face may be swapped.
        ``slack`` widens (or, negative, narrows) every limit by that many degrees."""
        found = []
        for axis in ("yaw", "pitch", "roll"):
            limit = getattr(self, f"max_{axis}")
            value = getattr(pose, axis)
            if limit is not None and abs(value) > limit + slack:
                found.append(f"{axis} {abs(value):.0f}° > {limit + slack:.0f}°")
        return found


def estimate_pose(landmarks: Landmarks) -> Pose:
    """Yaw, pitch and roll (degrees, approximate) from 5 landmarks: eyes, nose tip, mouth corners."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye, nose, left_mouth, right_mouth = points
    eye_line = right_eye - left_eye
    eye_distance = float(np.hypot(*eye_line))
    if eye_distance < 1e-6:
        return Pose(yaw=90.0, pitch=0.0, roll=0.0)  # eyes on top of each other: a profile at best
    across = eye_line / eye_distance                # unit vector along the eyes
    down = np.array([-across[1], across[0]])        # unit vector from the eye line towards the mouth
    eyes = (left_eye + right_eye) / 2.0
    mouth = (left_mouth + right_mouth) / 2.0
    # the face's midline runs from the eyes' midpoint to the mouth's; both lie on the face plane,
    # the nose tip stands out of it and so leaves the midline as the head turns
    midline = mouth - eyes
    length = float(np.hypot(*midline))
    if length > 1e-6 and np.dot(midline, down) > 0:
        side = np.array([midline[1], -midline[0]]) / length
        side = side if np.dot(side, across) >= 0 else -side
    else:  # mouth on or above the eye line: fall back to the eye line's direction
        side = across
    yaw_ratio = float(np.dot(nose - eyes, side)) / eye_distance
    yaw = math.degrees(math.atan2(yaw_ratio, NOSE_DEPTH))
    face_height = float(np.dot(mouth - eyes, down))
    pitch_ratio = (float(np.dot(nose - eyes, down)) - FRONTAL_NOSE_HEIGHT * face_height) / eye_distance
    pitch = math.degrees(math.atan2(pitch_ratio, NOSE_DEPTH))
    roll = math.degrees(math.atan2(across[1], across[0]))
    if np.dot(mouth - eyes, down) < 0:
        # the mouth lies above the eye line: the face is upside down (a detector names the points in
        # image order, so its eye line still runs left to right); its roll is half a turn from that
        roll = roll - 180.0 if roll > 0 else roll + 180.0
    return Pose(yaw=yaw, pitch=pitch, roll=roll)
