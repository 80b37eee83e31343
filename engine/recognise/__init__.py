"""Face recognisers: ArcFace-style (512-d) and SFace (128-d), one interface.

Each class takes an onnxruntime session (``Class(session, *, model_id, input_mean=…,
input_std=…)``), says whether a signature is its own with ``Class.matches(inputs, outputs)``,
and turns faces into L2-normalised identity vectors with ``embed(frame, faces)``.
:data:`RECOGNISERS` maps a family name to its class, for the model router.
"""
from __future__ import annotations


from .arcface import ArcFace
from .base import OnnxRecogniser
from .sface import SFace

#: family name → recogniser class (the router looks classes up here; never mutated)
RECOGNISERS: dict[str, type[OnnxRecogniser]] = {"arcface": ArcFace, "sface": SFace}

__all__ = ["RECOGNISERS", "ArcFace", "OnnxRecogniser", "SFace"]
