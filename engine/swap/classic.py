"""The weight-free classic swapper: the donor's face, aligned, recoloured and feathered in.

For machines with no swap model. Both faces are brought into the same aligned template space
by a 5-point similarity transform (the donor once, at :meth:`ClassicSwapper.prepare`; each
target per frame), so the donor's aligned crop *is* the donor's face placed on the target's
landmarks. Then:

- colour: the donor crop's L*a*b* mean and spread inside the inner-face region are moved onto
  the target crop's (:mod:`.colour`), so light and skin tone come from the plate;
- mask: the inner face only, brows to chin and cheek to cheek, Gaussian-feathered
  (:func:`.masks.inner_face_mask`), so the donor's hair, ears and background stay out;
- pose: a face turned too far (:mod:`.pose`) cannot be pasted flat. A turned target is
  skipped (logged; the pipeline passes it through untouched) and a turned donor is refused at
  :meth:`~ClassicSwapper.prepare` with :class:`~.pose.TurnedFaceError`.

Paste-back (:mod:`.pasteback`) inverts the target's matrix and blends the patch in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from faceright.errors import ConfigError, NoFaceError

from ..align import estimate_norm, norm_crop
from ..types import Donor, Face, Frame, Patch
from .colour import LabStats, apply_lab_transfer, lab_stats, region, warm_lab_tables
from .masks import INNER_FACE, FaceEllipse, inner_face_mask
from .pose import Pose, PoseLimits, TurnedFaceError, estimate_pose

log = logging.getLogger(__name__)

__all__ = ["ClassicSwapper", "ClassicDonor"]


@dataclass(frozen=True, eq=False)
class ClassicDonor:
    """A donor made ready once: its aligned crop, the crop in L*a*b* and its colour statistics."""

    crop: Frame
    lab: np.ndarray
    stats: LabStats
    pose: Pose


class ClassicSwapper:
    """Swaps faces with no model: 5-point similarity warp, L*a*b* colour transfer, feathered inner-face mask.

    ``size`` is the aligned crop's side (a multiple of 112 or 128; larger keeps more of a big
    face's detail at some cost); ``max_yaw`` / ``max_pitch`` / ``max_roll`` (degrees, None for
    no limit) say how far a face may turn; ``colour=False`` skips the colour transfer;
    ``face`` changes the inner-face region.
    """

    taskname = "swapper"
    model_id = "classic"

    def __init__(
        self,
        *,
        size: int = 256,
        max_yaw: float | None = 40.0,
        max_pitch: float | None = None,
        max_roll: float | None = 60.0,
        colour: bool = True,
        face: FaceEllipse = INNER_FACE,
        **options: object,
    ) -> None:
        if options:
            raise ConfigError(
                f"unknown classic swapper option(s) {', '.join(sorted(options))}; "
                "known: size, max_yaw, max_pitch, max_roll, colour, face"
            )
        if size % 112 and size % 128:
            raise ConfigError(f"classic swapper size must be a multiple of 112 or 128, got {size}")
        self.size = int(size)
        self.limits = PoseLimits(max_yaw=max_yaw, max_pitch=max_pitch, max_roll=max_roll)
        self.colour = bool(colour)
        self.mask = inner_face_mask(self.size, face)
        self._region = region(self.mask)
        self._region.setflags(write=False)
        warm_lab_tables()   # the donor's crop is taken to L*a*b* in prepare

    def __repr__(self) -> str:
        return f"ClassicSwapper(size={self.size}, limits={self.limits}, colour={self.colour})"

    # -- pose -------------------------------------------------------------------------------

    def refusal(self, face: Face) -> str | None:
        """Why ``face`` is too turned to swap (e.g. ``"yaw 56° > 40°"``), or None when it may be swapped."""
        violations = self.limits.violations(estimate_pose(face.landmarks))
        return ", ".join(violations) if violations else None

    # -- the Swapper protocol ---------------------------------------------------------------

    def prepare(self, donor: Donor) -> ClassicDonor:
        """Align the donor's face and take its colour statistics; refuse a turned donor."""
        if donor.face is None or donor.face.landmarks is None:
            raise NoFaceError("the donor has no detected face with landmarks to swap in")
        pose = estimate_pose(donor.face.landmarks)
        violations = self.limits.violations(pose)
        if violations:
            raise TurnedFaceError(
                f"the donor face is turned too far to swap in 2-D ({', '.join(violations)}; {pose}): "
                "use a photo where the donor looks into the camera"
            )
        crop, _ = norm_crop(donor.image, donor.face.landmarks, self.size)
        lab = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB)
        for array in (crop, lab):
            array.setflags(write=False)
        return ClassicDonor(crop=crop, lab=lab, stats=lab_stats(lab, self._region), pose=pose)

    def patches(self, frame: Frame, targets: Sequence[Face], prepared: object) -> list[Patch]:
        """One patch per target that may be swapped; turned targets are skipped (and logged)."""
        donor = self._donor(prepared)
        out = []
        for target in targets:
            reason = self.refusal(target)
            if reason is not None:
                log.info("face at %s is turned too far to swap in 2-D (%s); passed through",
                         np.round(np.asarray(target.box), 0).tolist(), reason)
                continue
            out.append(self._patch(frame, target, donor))
        return out

    def patches_batch(
        self, items: Sequence[tuple[Frame, Sequence[Face]]], prepared: object
    ) -> list[list[Patch]]:
        """:meth:`patches` for several frames at once (one list per frame); no model, so simply a loop."""
        return [self.patches(frame, targets, prepared) for frame, targets in items]

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _donor(prepared: object) -> ClassicDonor:
        if not isinstance(prepared, ClassicDonor):
            raise TypeError(
                f"ClassicSwapper needs the donor from its own prepare(), got {type(prepared).__name__}"
            )
        return prepared

    def _patch(self, frame: Frame, target: Face, donor: ClassicDonor) -> Patch:
        if self.colour:
            plate, matrix = norm_crop(frame, target.landmarks, self.size)
            plate_stats = lab_stats(cv2.cvtColor(plate, cv2.COLOR_BGR2LAB), self._region)
            crop = apply_lab_transfer(donor.lab, donor.stats, plate_stats)
        else:
            matrix = estimate_norm(target.landmarks, self.size)
            crop = donor.crop
        return Patch(crop=crop, matrix=matrix, mask=self.mask)
