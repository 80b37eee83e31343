"""What can be wrong with a model file, each condition its own :class:`ModelError` subclass.

Messages name the file and say what was expected, what was found and what to do.
"""
from __future__ import annotations

from faceright.errors import ModelError

__all__ = [
    "ModelError",
    "ModelFileCorruptError",
    "ModelHashMismatchError",
    "ModelNotFoundError",
    "ModelRoleError",
    "UnknownModelError",
]


class UnknownModelError(ModelError):
    """A model file whose inputs and outputs match no model family faceright knows."""


class ModelRoleError(ModelError):
    """A model file given for a role (detector, recogniser, swapper) it cannot fill."""


class ModelFileCorruptError(ModelError):
    """A model file that is not a readable ONNX model (truncated, corrupt, not ONNX at all)."""


class ModelHashMismatchError(ModelError):
    """A model file whose sha256 differs from the one registered or pinned for it."""


class ModelNotFoundError(ModelError):
    """No model of the kind (or name) asked for is installed."""
