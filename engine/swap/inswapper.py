"""The inswapper family: an ONNX model that redraws an aligned 128×128 target crop with the donor's identity.

Contract (insightface's ``model_zoo/inswapper.py``, reference/models.md §4), inputs fed by
position, names free:

- input 0, the target: ``[N,3,128,128]`` float32 RGB in [0, 1], the target face aligned to
  the ArcFace template at 128 (the 112 template shifted 8 px right);
- input 1, the source latent: ``[N,512]`` float32, the donor's L2-normalised ArcFace
  embedding times the model's ``emap`` matrix (its last initializer, which the caller reads
  from the file, see :func:`read_emap`), L2-normalised again;
- one output: ``[N,3,128,128]`` RGB in [0, 1], the swapped crop.

Faces are batched: all targets of all frames handed to :meth:`InSwapper.patches_batch` go
through the session together, in chunks of ``batch_size`` when the model's batch axis is
dynamic, one by one when it is fixed at 1. With ``pixel_boost`` (256, 384, 512...) the target
is aligned at that size and split into interleaved 128×128 sub-crops (space-to-depth), each
swapped, then woven back: more detail at (boost/128)² model calls per face.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Sequence

import cv2
import numpy as np

from faceright.errors import ConfigError, ModelError, NoFaceError

from ..batching import run_in_batches
from ..align import similarity_transform, template_for
from ..types import Donor, Face, Frame, Matrix, Patch
from .masks import box_mask, inner_face_mask
from .pose import PoseLimits, TurnedFaceError, estimate_pose

if TYPE_CHECKING:
    from .on_device import OnDevice

log = logging.getLogger(__name__)

__all__ = ["InSwapper", "InSwapperDonor", "read_emap", "INPUT_SIZE", "LATENT_DIM"]

INPUT_SIZE = 128
LATENT_DIM = 512

MaskKind = Literal["box", "face"]


def _dims(item: Any) -> list[Any]:
    """The shape of a graph input/output: onnxruntime's NodeArg, onnx's ValueInfoProto, or a plain sequence."""
    if hasattr(item, "type") and hasattr(item.type, "tensor_type"):   # onnx's ValueInfoProto
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in item.type.tensor_type.shape.dim]
    shape = getattr(item, "shape", item)
    return list(shape) if shape is not None else []


def _fixed(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and not isinstance(dim, bool) and dim > 0 else None


def read_emap(model: Any) -> np.ndarray:
    """The ``emap`` of an inswapper-style model (an ``onnx.ModelProto`` or its file): its **last**
    initializer, a 512×512 matrix."""
    import onnx
    from onnx import numpy_helper

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    initializers = model.graph.initializer
    if not initializers:
        raise ModelError("this swap model has no initializers, so no emap: it is not an inswapper-style model")
    emap = numpy_helper.to_array(initializers[-1])
    if emap.ndim != 2 or emap.shape[0] != emap.shape[1]:
        raise ModelError(
            f"the last initializer of this swap model ({initializers[-1].name!r}, shape {emap.shape}) is not a "
            "square emap matrix: an inswapper-style model stores its 512×512 emap last"
        )
    return np.ascontiguousarray(emap, dtype=np.float32)


@dataclass(frozen=True, eq=False)
class InSwapperDonor:
    """A donor made ready: the latent fed as the model's second input, ``[1, 512]``."""

    latent: np.ndarray


class InSwapper:
    """Wraps an inswapper-style ONNX session (``session.get_inputs()``, ``session.run()``).

    ``emap`` is the model's 512×512 matrix (:func:`read_emap`). Options: ``batch_size`` (128×128
    crops per session call when the batch axis is dynamic; a face is (pixel_boost/128)² crops), ``pixel_boost`` (aligned size, a multiple
    of 128; 128 = off), ``mask`` (``"box"``: the whole crop feathered, as the model redraws it
    all; ``"face"``: the inner face only).
    """

    taskname = "swapper"

    def __init__(
        self,
        session: Any,
        *,
        model_id: str,
        emap: np.ndarray,
        batch_size: int = 8,
        pixel_boost: int = INPUT_SIZE,
        mask: MaskKind = "box",
        max_roll: float | None = 60.0,
        on_device: OnDevice | None = None,
        **options: Any,
    ) -> None:
        if options:
            raise ConfigError(
                f"unknown inswapper option(s) {', '.join(sorted(options))}; known: batch_size, pixel_boost, mask, "
                "max_roll"
            )
        # the model redraws any yaw, but its crop is aligned by a similarity transform: an upside-down
        # face (mouth above the eyes) cannot be aligned upright and would be pasted upside down
        self.limits = PoseLimits(max_yaw=None, max_pitch=None, max_roll=max_roll)
        self.session = session
        self.model_id = model_id
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if not self.matches(inputs, outputs):
            raise ModelError(
                f"model {model_id!r} does not have the inswapper signature (inputs [N,3,128,128] and [N,512], "
                f"one output [N,3,128,128]); it has inputs {[_dims(i) for i in inputs]} "
                f"and outputs {[_dims(o) for o in outputs]}"
            )
        emap = np.asarray(emap, dtype=np.float32)
        latent_dim = _fixed(_dims(inputs[1])[1]) or LATENT_DIM
        if emap.shape != (latent_dim, latent_dim):
            raise ModelError(f"model {model_id!r}: emap must be {latent_dim}×{latent_dim}, got {emap.shape}")
        self.emap = emap
        self.emap.setflags(write=False)
        self._input_names = (inputs[0].name, inputs[1].name)
        self._output_name = outputs[0].name
        # fp16 exports take half-precision inputs; everything else float32
        self._dtype = np.float16 if getattr(inputs[0], "type", "") == "tensor(float16)" else np.float32
        #: rows per session call: the fixed batch size of the model, or batch_size when dynamic
        self.fixed_batch = _fixed(_dims(inputs[0])[0])
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        if pixel_boost < INPUT_SIZE or pixel_boost % INPUT_SIZE:
            raise ConfigError(f"pixel_boost must be a multiple of {INPUT_SIZE} (128, 256, 384, 512...), got {pixel_boost}")
        self.pixel_boost = int(pixel_boost)
        if mask not in ("box", "face"):
            raise ConfigError(f"mask must be 'box' or 'face', got {mask!r}")
        self.mask_kind = mask
        size = self.pixel_boost
        if mask == "box":
            self.mask = box_mask(size)
        elif size % 112:
            self.mask = inner_face_mask(size)
        else:  # e.g. 896 = 7·128 = 8·112: the mask's own template choice would differ from the model's
            self.mask = _resized_mask(inner_face_mask(INPUT_SIZE), size)
        #: align, swap and paste back on the session's device (:mod:`.on_device`): 128² float32 crops only
        # (a batch fixed above 1 takes padded batches, which the CPU path makes)
        device_ready = size == INPUT_SIZE and self._dtype == np.float32 and self.fixed_batch in (None, 1)
        self.on_device = on_device if device_ready else None
        if on_device is not None and self.on_device is None:
            log.info("%s: pixel_boost %d / %s inputs / batch fixed at %s are aligned and pasted on the CPU", model_id,
                     size, np.dtype(self._dtype).name, self.fixed_batch)

    def __repr__(self) -> str:
        return (f"InSwapper(model_id={self.model_id!r}, batch={self.fixed_batch or f'dynamic≤{self.batch_size}'}, "
                f"pixel_boost={self.pixel_boost}, mask={self.mask_kind!r})")

    @property
    def embedding_dim(self) -> int:
        """The size of the donor embedding the latent is made from (512: ArcFace)."""
        return int(self.emap.shape[0])

    # -- routing ----------------------------------------------------------------------------

    @staticmethod
    def matches(inputs: Sequence[Any], outputs: Sequence[Any]) -> bool:
        """Does a model with these inputs and outputs (NodeArgs, ValueInfos or shapes) have the inswapper signature?"""
        if len(inputs) != 2 or len(outputs) != 1:
            return False
        target, source, output = _dims(inputs[0]), _dims(inputs[1]), _dims(outputs[0])
        if len(target) != 4 or len(source) != 2 or len(output) != 4:
            return False
        if [_fixed(d) for d in target[1:]] != [3, INPUT_SIZE, INPUT_SIZE]:
            return False
        if [_fixed(d) for d in output[1:]] != [3, INPUT_SIZE, INPUT_SIZE]:
            return False
        return _fixed(source[1]) == LATENT_DIM

    # -- the Swapper protocol ---------------------------------------------------------------

    def latent(self, embedding: np.ndarray) -> np.ndarray:
        """``normalise(normalise(embedding) @ emap)`` as ``[1, 512]`` float32."""
        e = np.asarray(embedding, dtype=np.float32).reshape(1, -1)
        if e.shape[1] != self.emap.shape[0]:
            raise ModelError(
                f"{self.model_id} needs the donor's {self.emap.shape[0]}-d ArcFace embedding; got a {e.shape[1]}-d one "
                "(made by another recogniser, e.g. SFace's 128-d?): analyse the donor with an ArcFace recogniser"
            )
        norm = float(np.linalg.norm(e))
        if norm == 0.0 or not np.isfinite(norm):
            raise ModelError("the donor embedding is zero or not finite; cannot make a latent from it")
        latent = (e / norm) @ self.emap
        return (latent / np.linalg.norm(latent)).astype(np.float32)

    def refusal(self, face: Face) -> str | None:
        """Why ``face`` cannot be swapped (``"roll 178° > 60°"``: upside down), or None."""
        violations = self.limits.violations(estimate_pose(face.landmarks))
        return ", ".join(violations) if violations else None

    def _refused(self, target: Face) -> bool:
        reason = self.refusal(target)
        if reason is not None:
            log.info("face at %s is not upright (%s); passed through", np.round(np.asarray(target.box), 0).tolist(), reason)
        return reason is not None

    def prepare(self, donor: Donor) -> InSwapperDonor:
        """The donor's latent (needs ``donor.face.embedding`` from an ArcFace-512 recogniser); refuse a
        donor face that is not upright within ``max_roll``."""
        if donor.face is None or donor.face.embedding is None:
            raise NoFaceError("the donor face has no embedding: analyse the donor with a recogniser (embed=True) first")
        reason = self.refusal(donor.face) if donor.face.landmarks is not None else None
        if reason is not None:
            raise TurnedFaceError(f"the donor face is not upright ({reason}; upside down or on its side): "
                                  "use a photo where the donor's head is upright")
        latent = self.latent(donor.face.embedding)
        latent.setflags(write=False)
        return InSwapperDonor(latent=latent)

    def patches(self, frame: Frame, targets: Sequence[Face], prepared: object) -> list[Patch]:
        """One patch per target; all of them go through the model in as few calls as allowed."""
        return self.patches_batch([(frame, targets)], prepared)[0]

    def patches_batch(
        self, items: Sequence[tuple[Frame, Sequence[Face]]], prepared: object
    ) -> list[list[Patch]]:
        """Patches for several frames (one list per frame, one patch per target, in order), in shared batches."""
        if not isinstance(prepared, InSwapperDonor):
            raise TypeError(f"InSwapper needs the donor from its own prepare(), got {type(prepared).__name__}")
        size, k = self.pixel_boost, self.pixel_boost // INPUT_SIZE
        matrices: list[Matrix] = []
        tiles = []
        items = [(frame, [t for t in targets if not self._refused(t)]) for frame, targets in items]
        for frame, targets in items:
            for target in targets:
                matrix = aligned_matrix(target.landmarks, size)
                crop = cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
                matrices.append(matrix)
                tiles.append(_space_to_depth(crop, k))           # (k², 128, 128, 3) BGR
        if not tiles:
            return [[] for _ in items]
        blob = _to_blob(np.concatenate(tiles, axis=0))          # (faces·k², 3, 128, 128) RGB [0, 1]
        swapped = _from_blob(self._run(blob, prepared.latent))  # (faces·k², 128, 128, 3) BGR uint8
        out: list[list[Patch]] = []
        face = 0
        for _, targets in items:
            row = []
            for _ in targets:
                crop = _depth_to_space(swapped[face * k * k:(face + 1) * k * k], k)
                row.append(Patch(crop=crop, matrix=matrices[face], mask=self.mask))
                face += 1
            out.append(row)
        return out

    def swap_frames(self, items: Sequence[tuple[Frame, Sequence[Face]]], prepared: object) -> list[tuple[Frame, int]]:
        """Each frame with its targets swapped and pasted back on the device (:attr:`on_device`), and
        how many were; a frame whose targets were all refused comes back as it was, with 0. With a
        dynamic batch axis the faces of all the frames go through the model together, ``batch_size``
        a call."""
        if self.on_device is None:
            raise ModelError(f"{self.model_id}: no device graphs: use patches_batch and paste_back")
        if not isinstance(prepared, InSwapperDonor):
            raise TypeError(f"InSwapper needs the donor from its own prepare(), got {type(prepared).__name__}")
        matrices = [[aligned_matrix(t.landmarks, INPUT_SIZE) for t in targets if not self._refused(t)]
                    for _, targets in items]
        frames = self.on_device.swap_frames(
            [(frame, m) for (frame, _), m in zip(items, matrices)], self.session, self.mask,
            latent=prepared.latent, names=(*self._input_names, self._output_name),
            batch=self.batch_size if self.fixed_batch is None else 1)   # the faces of several frames per call
        return [(frame, len(m)) for frame, m in zip(frames, matrices)]

    # -- internals --------------------------------------------------------------------------

    def _run(self, blob: np.ndarray, latent: np.ndarray) -> np.ndarray:
        target_name, source_name = self._input_names
        feeds = {target_name: blob.astype(self._dtype, copy=False),
                 source_name: np.repeat(latent, blob.shape[0], axis=0).astype(self._dtype, copy=False)}
        calls = []

        def run(piece: dict[str, np.ndarray]) -> list[np.ndarray]:
            calls.append(1)
            return self.session.run([self._output_name], piece)

        (output,) = run_in_batches(run, feeds, chunk=self.batch_size, fixed=self.fixed_batch)
        log.debug("%s: %d crops in %d session call(s)", self.model_id, blob.shape[0], len(calls))
        return output


def aligned_matrix(landmarks: np.ndarray, size: int) -> Matrix:
    """frame → aligned crop of ``size`` (a multiple of 128) on the inswapper template, scaled from 128."""
    template = template_for(INPUT_SIZE) * (size / INPUT_SIZE)
    return similarity_transform(np.asarray(landmarks, dtype=np.float64).reshape(5, 2), template)


def _space_to_depth(crop: np.ndarray, k: int) -> np.ndarray:
    """(128k, 128k, 3) → (k², 128, 128, 3): sub-image (i, j) is ``crop[i::k, j::k]``."""
    if k == 1:
        return crop[None]
    s = crop.shape[0] // k
    return crop.reshape(s, k, s, k, 3).transpose(1, 3, 0, 2, 4).reshape(k * k, s, s, 3)


def _depth_to_space(tiles: np.ndarray, k: int) -> np.ndarray:
    """The inverse of :func:`_space_to_depth`."""
    if k == 1:
        return np.ascontiguousarray(tiles[0])
    s = tiles.shape[1]
    return np.ascontiguousarray(tiles.reshape(k, k, s, s, 3).transpose(2, 0, 3, 1, 4).reshape(s * k, s * k, 3))


def _to_blob(crops_bgr: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) BGR uint8 → (N, 3, H, W) RGB float32 in [0, 1]."""
    return np.ascontiguousarray(crops_bgr[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) * np.float32(1 / 255)


def _from_blob(blob: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) RGB in [0, 1] → (N, H, W, 3) BGR uint8 (rounded, clipped; insightface truncates)."""
    rgb = np.asarray(blob, dtype=np.float32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)[..., ::-1])


def _resized_mask(mask: np.ndarray, size: int) -> np.ndarray:
    resized = cv2.resize(np.asarray(mask), (size, size), interpolation=cv2.INTER_LINEAR)
    resized[[0, -1], :] = 0.0
    resized[:, [0, -1]] = 0.0
    resized.setflags(write=False)
    return resized
