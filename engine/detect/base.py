"""What every ONNX detector shares: reading a session's signature, the letterbox, making Faces.

A detector class wraps one onnxruntime session (anything with ``get_inputs()``,
``get_outputs()`` and ``run(names, feeds)``). Its constructor checks the session's signature
with the class's own ``matches`` and refuses a model that does not fit with a
:class:`~faceright.errors.ModelError` naming the model and what was expected.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence

import cv2
import numpy as np

from faceright.errors import ConfigError, ModelError

from ..types import Face, Frame
from .nms import nms

log = logging.getLogger(__name__)

Dim = int | str | None


@dataclass(frozen=True)
class Port:
    """One input or output of a model: its name and shape (ints, or names / None where dynamic)."""

    name: str
    shape: tuple[Dim, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    def dim(self, i: int) -> int | None:
        """The size of axis ``i`` when it is fixed, else None."""
        d = self.shape[i]
        return d if isinstance(d, int) and d > 0 else None

    def __str__(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}[{dims}]"


def ports(items: Iterable[Any]) -> list[Port]:
    """Normalise a signature: onnxruntime ``NodeArg``\\ s, objects with ``name``/``shape``,
    ``(name, shape)`` pairs, or a mapping of name → shape."""
    if isinstance(items, dict):
        items = items.items()
    out = []
    for item in items:
        if isinstance(item, Port):
            out.append(item)
        elif hasattr(item, "name") and hasattr(item, "shape"):
            out.append(Port(str(item.name), tuple(_dim(d) for d in (item.shape or ()))))
        else:
            name, shape = item
            out.append(Port(str(name), tuple(_dim(d) for d in (shape or ()))))
    return out


def _dim(d: Any) -> Dim:
    if isinstance(d, (int, np.integer)):
        return int(d) if d > 0 else None  # onnxruntime reports unknown dims as None, some tools as 0 / -1
    return d if isinstance(d, str) else None


def single_image_input(inputs: Sequence[Port]) -> bool:
    """One image input ``[N,3,H,W]`` (channels 3 or dynamic): what every detector and recogniser takes."""
    return len(inputs) == 1 and inputs[0].rank == 4 and inputs[0].dim(1) in (3, None)


def no_candidates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``_decode`` returns when nothing passes the threshold: no boxes, scores or landmarks."""
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)


def describe(inputs: Sequence[Port], outputs: Sequence[Port]) -> str:
    return f"inputs {', '.join(map(str, inputs)) or 'none'} → outputs {', '.join(map(str, outputs)) or 'none'}"


def session_ports(session: Any) -> tuple[list[Port], list[Port]]:
    try:
        return ports(session.get_inputs()), ports(session.get_outputs())
    except AttributeError as exc:
        raise ModelError(
            f"expected an onnxruntime InferenceSession (get_inputs/get_outputs/run), got {type(session).__name__}"
        ) from exc


def as_bgr(frame: Frame) -> Frame:
    """A frame as H×W×3 uint8 BGR: grey and BGRA images are converted, anything else refused."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (8-bit BGR), got {frame.dtype}")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"frames must be H×W×3 BGR, got shape {frame.shape}")


def shrink(image: Frame, size: tuple[int, int]) -> Frame:
    """``image`` resized down to ``size`` = (width, height), area-averaged, fast at any ratio.

    OpenCV's INTER_AREA is fast only for whole-number ratios (0.2 ms for 1000→500 px, 6 ms for
    1000→512). So: average whole kx×ky blocks first (the border replicated up to a multiple),
    then a bilinear warp for the remaining ratio below 2 on each axis, mapped so that output
    pixel centres land where a direct resize puts them. A ratio below 2 overall is bilinear
    alone (each output pixel still draws on the 2×2 input pixels around it).
    """
    width, height = size
    h, w = image.shape[:2]
    kx, ky = max(1, w // width), max(1, h // height)
    if kx == 1 and ky == 1:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    pw, ph = -(-w // kx) * kx, -(-h // ky) * ky
    if (pw, ph) != (w, h):
        image = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
    blocks = cv2.resize(image, (pw // kx, ph // ky), interpolation=cv2.INTER_AREA)
    if blocks.shape[1] == width and blocks.shape[0] == height:
        return blocks
    ax, ay = w / (width * kx), h / (height * ky)   # output pixel → block pixel
    matrix = np.array([[ax, 0.0, 0.5 * ax - 0.5], [0.0, ay, 0.5 * ay - 0.5]])
    return cv2.warpAffine(blocks, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def letterbox(frame: Frame, size: tuple[int, int]) -> tuple[Frame, float, float]:
    """Resize ``frame`` to fit ``size`` = (width, height) keeping its aspect, pad right and bottom
    with black. Returns the canvas and the x and y scales (canvas pixels per frame pixel)."""
    width, height = size
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    if (new_w, new_h) == (w, h):
        canvas[:h, :w] = frame
    else:
        canvas[:new_h, :new_w] = (shrink(frame, (new_w, new_h)) if scale < 1.0
                                  else cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR))
    return canvas, new_w / w, new_h / h


def _size_option(value: Any, model_id: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    try:
        width, height = (int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{model_id}: input_size must be a number or (width, height), got {value!r}") from exc
    if width <= 0 or height <= 0:
        raise ConfigError(f"{model_id}: input_size must be positive, got {value!r}")
    return width, height


def _fraction_option(name: str, value: Any, model_id: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{model_id}: {name} must be a number between 0 and 1, got {value!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{model_id}: {name} must be between 0 and 1, got {value}")
    return value


class OnnxDetector:
    """Base of the ONNX detectors: options, signature check, letterbox, NMS and Face making.

    Subclasses set ``family``, ``expected`` (the signature in words, for error messages),
    the default thresholds, and implement ``matches``, ``_prepare`` and ``_decode``.
    """

    taskname: ClassVar[str] = "detector"
    family: ClassVar[str] = ""
    expected: ClassVar[str] = ""
    default_threshold: ClassVar[float] = 0.5
    default_nms_threshold: ClassVar[float] = 0.4
    default_input_size: ClassVar[tuple[int, int]] = (640, 640)
    #: input sizes must be multiples of this (the largest stride)
    size_multiple: ClassVar[int] = 32
    #: the model reads black pixels as zeros, as its convolutions pad: a resizable model then gets
    #: the letterbox cut to the frame's part (rounded up to ``size_multiple``), same faces, fewer pixels
    black_is_padding: ClassVar[bool] = False

    def __init__(
        self,
        session: Any,
        *,
        model_id: str,
        threshold: float | None = None,
        nms_threshold: float | None = None,
        input_size: int | Sequence[int] | None = None,
        **options: Any,
    ) -> None:
        if options:
            raise ConfigError(
                f"{model_id}: unknown {self.family} detector option(s) {', '.join(sorted(options))}; "
                "the options are threshold, nms_threshold and input_size"
            )
        self.session = session
        self.model_id = model_id
        self.inputs, self.outputs = session_ports(session)
        if not self.matches(self.inputs, self.outputs):
            raise ModelError(
                f"{model_id} does not fit the {self.family} detector: expected {self.expected}; "
                f"it has {describe(self.inputs, self.outputs)}"
            )
        self.input_name = self.inputs[0].name
        self.output_names = [p.name for p in self.outputs]
        self.threshold = _fraction_option(
            "threshold", self.default_threshold if threshold is None else threshold, model_id
        )
        self.nms_threshold = _fraction_option(
            "nms_threshold", self.default_nms_threshold if nms_threshold is None else nms_threshold, model_id
        )
        self.input_size = self._resolve_input_size(_size_option(input_size, model_id))

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        w, h = self.input_size
        return f"{type(self).__name__}({self.model_id!r}, input {w}×{h}, threshold {self.threshold})"

    # -- input size ---------------------------------------------------------------------------

    @property
    def resizable(self) -> bool:
        """Whether the model takes inputs of any size (its input's height and width are dynamic),
        so that :meth:`detect` can be asked for another ``input_size``."""
        image = self.inputs[0]
        return image.dim(2) is None and image.dim(3) is None

    def _resolve_input_size(self, asked: tuple[int, int] | None) -> tuple[int, int]:
        """The model's fixed (width, height), or the asked / default size for a dynamic model."""
        image = self.inputs[0]
        fixed_h, fixed_w = image.dim(2), image.dim(3)
        if fixed_h is not None and fixed_w is not None:
            if asked is not None and asked != (fixed_w, fixed_h):
                raise ConfigError(
                    f"{self.model_id}: input_size {asked[0]}×{asked[1]} asked, but the model's input is fixed at "
                    f"{fixed_w}×{fixed_h}; leave input_size unset for this model"
                )
            return fixed_w, fixed_h
        size = asked if asked is not None else self.default_input_size
        m = self.size_multiple
        if size[0] % m or size[1] % m:
            raise ConfigError(f"{self.model_id}: input_size must be a multiple of {m}, got {size[0]}×{size[1]}")
        return size

    # -- detection ------------------------------------------------------------------------------

    def detect(self, frame: Frame, *, input_size: int | Sequence[int] | None = None) -> list[Face]:
        """Faces in ``frame`` (H×W×3 BGR uint8), best score first, in frame pixels.

        ``input_size`` letterboxes this one frame to another (width, height) than the
        detector's own; only a :attr:`resizable` model takes it (else :class:`ConfigError`).
        """
        frame = as_bgr(frame)
        size = self.input_size
        if input_size is not None:
            size = self._resolve_input_size(_size_option(input_size, self.model_id))
        canvas, sx, sy = letterbox(frame, size)
        if self.black_is_padding and self.resizable:  # e.g. a 16:9 frame: 640×384 of the 640×640 canvas
            m = self.size_multiple
            h, w = frame.shape[:2]
            canvas = canvas[:-(-round(h * sy) // m) * m, :-(-round(w * sx) // m) * m]
        blob = self._prepare(canvas)
        outputs = self.session.run(self.output_names, {self.input_name: blob})
        boxes, scores, landmarks = self._decode(dict(zip(self.output_names, outputs)), blob.shape[3], blob.shape[2])
        return self._faces(boxes, scores, landmarks, sx, sy)

    def _prepare(self, canvas: Frame) -> np.ndarray:
        """The model's input blob (1×3×H×W float32) for a letterboxed BGR canvas."""
        raise NotImplementedError

    def _decode(
        self, outputs: dict[str, np.ndarray], width: int, height: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates above ``threshold``, in canvas pixels: boxes N×4, scores N, landmarks N×5×2."""
        raise NotImplementedError

    def _faces(
        self, boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray, sx: float, sy: float
    ) -> list[Face]:
        if scores.size == 0:
            return []
        keep = nms(boxes, scores, self.nms_threshold)
        unscale = np.array([sx, sy], dtype=np.float64)
        faces = []
        for i in keep:
            box = (np.asarray(boxes[i], np.float64).reshape(2, 2) / unscale).reshape(4)
            points = np.asarray(landmarks[i], np.float64).reshape(5, 2) / unscale
            faces.append(Face(box=box.astype(np.float32), score=float(scores[i]), landmarks=points.astype(np.float32)))
        log.debug("%s: %d candidates, %d faces after NMS", self.model_id, scores.size, len(faces))
        return faces


def stride_grid(width: int, height: int, stride: int, anchors: int = 1, offset: float = 0.0) -> np.ndarray:
    """Anchor points ``((col + offset)·stride, (row + offset)·stride)`` of a stride's grid,
    row-major, each repeated ``anchors`` times: (cells·anchors)×2 float32."""
    cols, rows = -(-width // stride), -(-height // stride)
    grid = np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), axis=-1).reshape(-1, 2).astype(np.float32)
    grid = (grid + offset) * stride
    return np.repeat(grid, anchors, axis=0) if anchors > 1 else grid
