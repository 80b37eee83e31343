"""What every ONNX recogniser shares: align, batch, run, L2-normalise.

A recogniser wraps one onnxruntime session whose single input is ``[N,3,S,S]`` (S = 112 for
every model in use) and whose single output is ``[N,dim]``. Faces are aligned to the ArcFace
5-point template with :func:`faceright.engine.align.norm_crop`. When the batch axis is dynamic,
all faces go through in one session call; when it is fixed, in chunks of that size (padded).
Subclasses only say how pixels are normalised and which signatures are theirs.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from faceright.errors import ConfigError, ModelError

from ..batching import run_in_batches
from ..align import norm_crop
from ..detect.base import Port, as_bgr, describe, ports, session_ports, single_image_input
from ..types import Face, Frame

def recogniser_ports(inputs: Iterable[Any], outputs: Iterable[Any]) -> tuple[Port, Port] | None:
    """The (image input, embedding output) of a recogniser-shaped signature, else None:
    one input ``[N,3,S,S]`` with S a fixed multiple of 112, one output ``[N,dim]`` with dim fixed."""
    inputs, outputs = ports(inputs), ports(outputs)
    if not single_image_input(inputs) or len(outputs) != 1:
        return None
    image, embedding = inputs[0], outputs[0]
    h, w = image.dim(2), image.dim(3)
    if h is None or h != w or h % 112:
        return None
    if embedding.rank != 2 or embedding.dim(1) is None:
        return None
    return image, embedding


class OnnxRecogniser:
    """Base of the ONNX recognisers. ``embed(frame, faces)`` → (n, dim) float32, unit rows."""

    taskname: ClassVar[str] = "recogniser"
    family: ClassVar[str] = ""
    expected: ClassVar[str] = ""
    #: pixel normalisation: (RGB − input_mean) / input_std
    input_mean: ClassVar[float] = 0.0
    input_std: ClassVar[float] = 1.0

    def __init__(self, session: Any, *, model_id: str, **options: Any) -> None:
        mean = options.pop("input_mean", None)
        std = options.pop("input_std", None)
        if options:
            raise ConfigError(
                f"{model_id}: unknown {self.family} recogniser option(s) {', '.join(sorted(options))}; "
                "the options are input_mean and input_std"
            )
        self.session = session
        self.model_id = model_id
        inputs, outputs = session_ports(session)
        found = recogniser_ports(inputs, outputs) if self.matches(inputs, outputs) else None
        if found is None:
            raise ModelError(
                f"{model_id} does not fit the {self.family} recogniser: expected {self.expected}; "
                f"it has {describe(inputs, outputs)}"
            )
        image, embedding = found
        self.input_name, self.output_name = image.name, embedding.name
        self.size = int(image.dim(2) or 112)
        self.dim = int(embedding.dim(1) or 0)
        self.batch = image.dim(0)  # None: dynamic, any number of faces per call
        self.mean = float(self.input_mean if mean is None else mean)
        self.std = float(self.input_std if std is None else std)
        if self.std == 0.0:
            raise ConfigError(f"{model_id}: input_std must not be 0")

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, {self.size}×{self.size} → {self.dim})"

    def crops(self, frame: Frame, faces: Sequence[Face]) -> list[Frame]:
        """The aligned BGR crops the model sees, one per face."""
        frame = as_bgr(frame)
        return [norm_crop(frame, face.landmarks, self.size)[0] for face in faces]

    def blob(self, crops: Sequence[Frame]) -> np.ndarray:
        """N×3×S×S float32: RGB, (x − mean) / std."""
        stack = np.stack([c[:, :, ::-1] for c in crops]).astype(np.float32)  # BGR → RGB
        stack = (stack - self.mean) / self.std if (self.mean, self.std) != (0.0, 1.0) else stack
        return np.ascontiguousarray(stack.transpose(0, 3, 1, 2))

    def embed(self, frame: Frame, faces: Sequence[Face]) -> np.ndarray:
        """Identity vectors of ``faces`` in ``frame``: (len(faces), dim) float32, L2-normalised."""
        if not faces:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_crops(self.crops(frame, faces))

    def embed_crops(self, crops: Sequence[Frame]) -> np.ndarray:
        """Identity vectors of already aligned S×S BGR crops."""
        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        blob = self.blob(crops)
        n = blob.shape[0]
        if self.batch is None:
            raw = self._run(blob)
        else:
            (raw,) = run_in_batches(lambda piece: [self._run(piece["crops"])], {"crops": blob},
                                    chunk=self.batch, fixed=self.batch)
        raw = np.asarray(raw, np.float32).reshape(n, -1)
        if raw.shape[1] != self.dim:
            raise ModelError(f"{self.model_id}: returned {raw.shape[1]} values per face, its signature says {self.dim}")
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        if np.any(norms == 0.0) or not np.all(np.isfinite(norms)):
            raise ModelError(f"{self.model_id}: returned an embedding of zero or non-finite length")
        return (raw / norms).astype(np.float32)

    def _run(self, blob: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: blob})
        return out
