"""Swap backends and paste-back.

Every swapper implements :class:`faceright.engine.backends.Swapper`: ``prepare(donor)`` once,
then ``patches(frame, targets, prepared)`` per frame (and ``patches_batch`` for several frames,
so a model sees one batch). A :class:`~faceright.engine.types.Patch` is a face in aligned-crop
space with its matrix and feathered mask; :func:`paste_back` blends patches into a copy of the
frame, region by region.

``SWAPPERS`` maps a backend name to its class: ``"inswapper"`` wraps an inswapper-style ONNX
session, ``"classic"`` needs no model.
"""
from __future__ import annotations

from types import MappingProxyType

from .classic import ClassicDonor, ClassicSwapper
from .inswapper import InSwapper, InSwapperDonor
from .pasteback import paste_back, paste_into
from .pose import Pose, PoseLimits, TurnedFaceError, estimate_pose

#: backend name → class (read-only)
SWAPPERS = MappingProxyType({"inswapper": InSwapper, "classic": ClassicSwapper})

__all__ = [
    "SWAPPERS",
    "ClassicDonor",
    "ClassicSwapper",
    "InSwapper",
    "InSwapperDonor",
    "Pose",
    "PoseLimits",
    "TurnedFaceError",
    "estimate_pose",
    "paste_back",
    "paste_into",
]
