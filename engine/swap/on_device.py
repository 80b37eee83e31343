"""Align, swap and paste back on the swapper's device: a frame goes up once and comes down once.

On a GPU the CPU path costs three host round trips per face (the aligned crop up, the swapped
crop down, paste-back's warps on the CPU). Here the two image steps are small ONNX graphs, run
by onnxruntime on the swapper's provider, and every tensor between them stays where it is:

1. **align** (``frames`` ``[B,H,W,3]`` uint8 BGR: the batch's frames, uploaded together;
   ``inverse`` ``[B,F,2,3]``: crop→frame matrices, F slots per frame; ``slots`` ``[N]``: which
   slot each face is, ``b·F + j``) → ``blob`` ``[N,3,S,S]`` float RGB in [0, 1]: the swapper's
   input, bilinear with the border replicated, as ``cv2.warpAffine(..., BORDER_REPLICATE)``
   makes it on the CPU. Each frame is sampled as one image (a slot nobody uses is sampled and
   dropped), so a frame is never copied per face;
2. the swapper, fed that blob where it lies: the faces of several frames in one call when its
   batch axis is dynamic (up to its ``batch_size``), else one face a call (inswapper_128 is fixed
   at 1; a CUDA-graph session's own input buffer then takes the crop straight from the align
   graph, :mod:`faceright.engine.fixed_binding`);
3. **paste** (``frames`` ``[M,H,W,3]`` and ``at`` ``[1]``: the frame to paste into; ``faces``
   ``[K,3,S,S]`` and ``k`` ``[1]``: the swapped face; its feathered ``mask`` ``[S,S]``,
   ``matrix`` ``[1,2,3]`` frame→crop, ``roi`` ``[4]``: the frame box the mask can weigh, as the
   CPU's paste-back finds it) → ``out`` ``[1,H,W,3]``: the frame with the face blended in where
   the warped mask weighs more than 0, sampled over the ROI only, every other pixel the input's,
   exactly (``Where``), as :func:`~faceright.engine.swap.pasteback.paste_back` guarantees on the
   CPU. Faces go in one at a time, later over earlier; every face is cropped from its frame as it
   came.

The graphs are built once with ``onnx.helper`` and kept under the model cache (``device-graphs/``),
so later processes do not import ``onnx``. The same graphs run on the CPU provider in the tests,
compared with exact bilinear sampling and with the CPU path (a few grey levels inside the faces:
float sampling against OpenCV's 1/32-pixel grid and its 8-bit crop; equal outside them).
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ..types import Frame, Matrix
from .pasteback import Roi, mask_roi

log = logging.getLogger(__name__)

__all__ = ["GRAPH_VERSION", "OnDevice", "align_graph", "paste_graph"]

#: bump when a graph changes: the cached files are named by it
GRAPH_VERSION = 3
_OPSET = 16   # GridSample's first version (bilinear, border / zeros padding, align_corners)


def _helpers() -> Any:
    import onnx
    from onnx import TensorProto, helper

    return onnx, TensorProto, helper


def _const(helper: Any, TensorProto: Any, name: str, values: Any, dtype: Any = np.float32) -> Any:
    array = np.asarray(values, dtype=dtype)
    kind = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}[array.dtype]
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", kind, array.shape,
                                                                              array.flatten().tolist()))


def _normaliser(helper: Any, TensorProto: Any, nodes: list, shape_of: str, prefix: str, height_axis: int = 0) -> str:
    """Nodes giving ``[2/(W-1), 2/(H-1)]`` for the tensor ``shape_of`` whose height is axis ``height_axis``
    (its width the next): pixel → GridSample's [-1, 1] with align_corners (−1 and 1 are the first
    and last pixels' centres)."""
    nodes += [
        helper.make_node("Shape", [shape_of], [f"{prefix}_shape"]),
        _const(helper, TensorProto, f"{prefix}_wh_idx", [height_axis + 1, height_axis], np.int64),
        helper.make_node("Gather", [f"{prefix}_shape", f"{prefix}_wh_idx"], [f"{prefix}_wh_i"], axis=0),
        helper.make_node("Cast", [f"{prefix}_wh_i"], [f"{prefix}_wh"], to=TensorProto.FLOAT),
        _const(helper, TensorProto, f"{prefix}_one", [1.0]),
        _const(helper, TensorProto, f"{prefix}_two", [2.0]),
        helper.make_node("Sub", [f"{prefix}_wh", f"{prefix}_one"], [f"{prefix}_span"]),
        helper.make_node("Div", [f"{prefix}_two", f"{prefix}_span"], [f"{prefix}_scale"]),
    ]
    return f"{prefix}_scale"


def align_graph(size: int) -> bytes:
    """The align graph for ``size``² crops (see the module's docstring), serialised."""
    onnx, TensorProto, helper = _helpers()
    u, v = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
    base = np.stack([u.ravel(), v.ravel(), np.ones(size * size, np.float32)], axis=1)   # [S², 3] (u, v, 1)
    nodes: list = [
        helper.make_node("Cast", ["frames"], ["frames_f"], to=TensorProto.FLOAT),
        _const(helper, TensorProto, "rgb_idx", [2, 1, 0], np.int64),
        helper.make_node("Gather", ["frames_f", "rgb_idx"], ["rgb"], axis=3),
        helper.make_node("Transpose", ["rgb"], ["images"], perm=[0, 3, 1, 2]),          # [B, 3, H, W]
        _const(helper, TensorProto, "flat_shape", [-1, 2, 3], np.int64),
        helper.make_node("Reshape", ["inverse", "flat_shape"], ["inverse_flat"]),       # [B·F, 2, 3]
        _const(helper, TensorProto, "base", base),
        helper.make_node("Transpose", ["inverse_flat"], ["inverse_t"], perm=[0, 2, 1]),  # [B·F, 3, 2]
        helper.make_node("MatMul", ["base", "inverse_t"], ["points"]),                   # [B·F, S², 2] frame pixels
    ]
    scale = _normaliser(helper, TensorProto, nodes, "frames", "f", height_axis=1)
    nodes += [
        helper.make_node("Mul", ["points", scale], ["scaled"]),
        _const(helper, TensorProto, "one", [1.0]),
        helper.make_node("Sub", ["scaled", "one"], ["normed"]),
        helper.make_node("Shape", ["frames"], ["frames_shape"]),
        _const(helper, TensorProto, "b_idx", [0], np.int64),
        helper.make_node("Gather", ["frames_shape", "b_idx"], ["b"], axis=0),
        _const(helper, TensorProto, "grid_tail", [-1, size, 2], np.int64),
        helper.make_node("Concat", ["b", "grid_tail"], ["grid_shape"], axis=0),
        helper.make_node("Reshape", ["normed", "grid_shape"], ["grid"]),                 # [B, F·S, S, 2]
        helper.make_node("GridSample", ["images", "grid"], ["sampled"], mode="bilinear", padding_mode="border",
                         align_corners=1),                                               # [B, 3, F·S, S]
        _const(helper, TensorProto, "split_tail", [3, -1, size, size], np.int64),
        helper.make_node("Concat", ["b", "split_tail"], ["split_shape"], axis=0),
        helper.make_node("Reshape", ["sampled", "split_shape"], ["per_slot"]),            # [B, 3, F, S, S]
        helper.make_node("Transpose", ["per_slot"], ["slots_first"], perm=[0, 2, 1, 3, 4]),
        _const(helper, TensorProto, "slot_shape", [-1, 3, size, size], np.int64),
        helper.make_node("Reshape", ["slots_first", "slot_shape"], ["all_slots"]),       # [B·F, 3, S, S]
        helper.make_node("Gather", ["all_slots", "slots"], ["faces"], axis=0),            # [N, 3, S, S]
        _const(helper, TensorProto, "to_unit", [1.0 / 255.0]),
        helper.make_node("Mul", ["faces", "to_unit"], ["blob"]),
    ]
    graph = helper.make_graph(
        nodes, "faceright_align",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, ["b", "h", "w", 3]),
         helper.make_tensor_value_info("inverse", TensorProto.FLOAT, ["b", "f", 2, 3]),
         helper.make_tensor_value_info("slots", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("blob", TensorProto.FLOAT, ["n", 3, size, size])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="faceright")
    onnx.checker.check_model(model)
    return model.SerializeToString()


def paste_graph(size: int) -> bytes:
    """The paste graph for ``size``² crops (see the module's docstring), serialised."""
    onnx, TensorProto, helper = _helpers()
    big = np.iinfo(np.int64).max   # Slice's "to the end"
    nodes: list = [
        helper.make_node("Gather", ["frames", "at"], ["frame_1"], axis=0),               # [1, H, W, 3]
        _const(helper, TensorProto, "frame_axis", [0], np.int64),
        helper.make_node("Squeeze", ["frame_1", "frame_axis"], ["frame"]),                # [H, W, 3]
        helper.make_node("Gather", ["faces", "k"], ["face"], axis=0),                     # [1, 3, S, S]
        _const(helper, TensorProto, "zero_s", 0.0),
        _const(helper, TensorProto, "one_s", 1.0),
        _const(helper, TensorProto, "zero_i", [0], np.int64),
        _const(helper, TensorProto, "end_i", [big], np.int64),
        _const(helper, TensorProto, "rows_axis", [0], np.int64),
        _const(helper, TensorProto, "cols_axis", [1], np.int64),
    ]
    for k, name in enumerate(("x0", "y0", "x1", "y1")):     # the ROI: scalars for Range, [1]s for Slice
        nodes += [_const(helper, TensorProto, f"{name}_idx", k, np.int64),
                  _const(helper, TensorProto, f"{name}_idx1", [k], np.int64),
                  helper.make_node("Gather", ["roi", f"{name}_idx"], [f"{name}_i"], axis=0),
                  helper.make_node("Gather", ["roi", f"{name}_idx1"], [f"{name}_1"], axis=0),
                  helper.make_node("Cast", [f"{name}_i"], [name], to=TensorProto.FLOAT)]
    nodes += [
        helper.make_node("Slice", ["frame", "y0_1", "y1_1", "rows_axis"], ["band"]),          # rows y0:y1
        helper.make_node("Slice", ["band", "x0_1", "x1_1", "cols_axis"], ["region"]),         # the ROI
        helper.make_node("Range", ["x0", "x1", "one_s"], ["xs"]),                            # [w] frame x
        helper.make_node("Range", ["y0", "y1", "one_s"], ["ys_flat"]),                       # [h] frame y
        _const(helper, TensorProto, "col", [-1, 1], np.int64),
        helper.make_node("Reshape", ["ys_flat", "col"], ["ys"]),                             # [h, 1]
        _const(helper, TensorProto, "m_shape", [6], np.int64),
        helper.make_node("Reshape", ["matrix", "m_shape"], ["m"]),
    ]
    coefficient = []
    for k in range(6):
        nodes += [_const(helper, TensorProto, f"m{k}_idx", k, np.int64),
                  helper.make_node("Gather", ["m", f"m{k}_idx"], [f"m{k}"], axis=0)]
        coefficient.append(f"m{k}")
    half = 2.0 / (size - 1)
    for axis, (a, b, c) in (("u", coefficient[:3]), ("v", coefficient[3:])):
        nodes += [
            helper.make_node("Mul", ["xs", a], [f"{axis}_x"]),
            helper.make_node("Mul", ["ys", b], [f"{axis}_y"]),
            helper.make_node("Add", [f"{axis}_x", f"{axis}_y"], [f"{axis}_xy"]),
            helper.make_node("Add", [f"{axis}_xy", c], [f"{axis}_px"]),                 # [H, W] crop pixels
            _const(helper, TensorProto, f"{axis}_half", half),
            helper.make_node("Mul", [f"{axis}_px", f"{axis}_half"], [f"{axis}_s"]),
            helper.make_node("Sub", [f"{axis}_s", "one_s"], [f"{axis}_n"]),
            _const(helper, TensorProto, f"{axis}_last", [-1], np.int64),
            helper.make_node("Unsqueeze", [f"{axis}_n", f"{axis}_last"], [f"{axis}_g"]),  # [H, W, 1]
        ]
    nodes += [
        helper.make_node("Concat", ["u_g", "v_g"], ["grid_hw"], axis=-1),               # [H, W, 2]
        _const(helper, TensorProto, "axis0", [0], np.int64),
        helper.make_node("Unsqueeze", ["grid_hw", "axis0"], ["grid"]),                  # [1, H, W, 2]
        helper.make_node("GridSample", ["face", "grid"], ["face_s"], mode="bilinear", padding_mode="border",
                         align_corners=1),                                              # [1, 3, H, W] RGB
        _const(helper, TensorProto, "mask_shape", [1, 1, size, size], np.int64),
        helper.make_node("Reshape", ["mask", "mask_shape"], ["mask4"]),
        helper.make_node("GridSample", ["mask4", "grid"], ["alpha_s"], mode="bilinear", padding_mode="zeros",
                         align_corners=1),                                              # [1, 1, H, W]
        helper.make_node("Squeeze", ["face_s", "axis0"], ["face_chw"]),
        _const(helper, TensorProto, "bgr_idx", [2, 1, 0], np.int64),
        helper.make_node("Gather", ["face_chw", "bgr_idx"], ["face_bgr"], axis=0),
        helper.make_node("Transpose", ["face_bgr"], ["face_hwc"], perm=[1, 2, 0]),      # [H, W, 3]
        _const(helper, TensorProto, "to_level", 255.0),
        helper.make_node("Mul", ["face_hwc", "to_level"], ["face_px"]),
        helper.make_node("Squeeze", ["alpha_s", "axis0"], ["alpha_chw"]),               # [1, H, W]
        helper.make_node("Transpose", ["alpha_chw"], ["alpha"], perm=[1, 2, 0]),        # [H, W, 1]
        helper.make_node("Cast", ["region"], ["frame_f"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["face_px", "frame_f"], ["delta"]),
        helper.make_node("Mul", ["delta", "alpha"], ["weighted"]),
        helper.make_node("Add", ["frame_f", "weighted"], ["blend"]),                    # face·α + frame·(1 − α)
        helper.make_node("Round", ["blend"], ["rounded"]),
        _const(helper, TensorProto, "lo", 0.0),
        _const(helper, TensorProto, "hi", 255.0),
        helper.make_node("Clip", ["rounded", "lo", "hi"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["blended"], to=TensorProto.UINT8),
        helper.make_node("Greater", ["alpha", "zero_s"], ["touched"]),                  # [h, w, 1]
        helper.make_node("Where", ["touched", "blended", "region"], ["pasted"]),
        # the frame again around the pasted region: left and right of it in its rows, then above and below
        helper.make_node("Slice", ["band", "zero_i", "x0_1", "cols_axis"], ["left"]),
        helper.make_node("Slice", ["band", "x1_1", "end_i", "cols_axis"], ["right"]),
        helper.make_node("Concat", ["left", "pasted", "right"], ["rows"], axis=1),
        helper.make_node("Slice", ["frame", "zero_i", "y0_1", "rows_axis"], ["above"]),
        helper.make_node("Slice", ["frame", "y1_1", "end_i", "rows_axis"], ["below"]),
        helper.make_node("Concat", ["above", "rows", "below"], ["pasted_frame"], axis=0),
        helper.make_node("Unsqueeze", ["pasted_frame", "frame_axis"], ["out"]),          # [1, H, W, 3]
    ]
    graph = helper.make_graph(
        nodes, "faceright_paste",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, ["m", "h", "w", 3]),
         helper.make_tensor_value_info("at", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("faces", TensorProto.FLOAT, ["k", 3, size, size]),
         helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [size, size]),
         helper.make_tensor_value_info("matrix", TensorProto.FLOAT, [1, 2, 3]),
         helper.make_tensor_value_info("roi", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("out", TensorProto.UINT8, [1, "h", "w", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="faceright")
    onnx.checker.check_model(model)
    return model.SerializeToString()


def graph_bytes(kind: str, size: int, folder: Path | None) -> bytes:
    """The ``kind`` ("align" / "paste") graph for ``size``, from ``folder`` when built before (no ``onnx``
    import then), else built and kept there."""
    path = folder / f"{kind}-{size}-v{GRAPH_VERSION}.onnx" if folder is not None else None
    if path is not None and path.is_file():
        return path.read_bytes()
    data = (align_graph if kind == "align" else paste_graph)(size)
    if path is not None:
        from faceright.atomic import make_folder, write_replacing

        try:
            make_folder(path.parent)
            write_replacing(path, data)
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is only slower next time
            log.info("could not keep the %s graph in %s: %s", kind, folder, exc)
    return data


class OnDevice:
    """The align and paste sessions of one swapper's device (``align``, ``paste``: sessions with
    :meth:`run_bound`, made by the runtime on the swapper's providers)."""

    def __init__(self, align: Any, paste: Any, size: int) -> None:
        self.align, self.paste, self.size = align, paste, size
        self._lock = threading.Lock()

    def upload(self, frames: np.ndarray) -> Any:
        """Frames ``[B,H,W,3]`` as one tensor on the device (the one copy up)."""
        ort = self.paste.ort
        return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(frames, np.uint8), self.paste.device,
                                                self.paste.device_id)

    def crops(self, frames: Any, count: int, slots: Sequence[tuple[int, Matrix]], *, into: Any = None) -> Any:
        """The aligned blobs ``[N,3,S,S]`` on the device of the faces ``slots`` names, each ``(frame
        number in frames, crop→frame matrix)``; ``frames``: the uploaded ``[count,H,W,3]``. ``into``: a
        device buffer of that shape to write them to (a CUDA-graph swapper's own input)."""
        width = max(Counter(number for number, _ in slots).values())
        inverse = np.zeros((count, width, 2, 3), np.float32)   # unused slots are sampled and dropped
        index, filled = np.empty(len(slots), np.int64), [0] * count
        for n, (number, matrix) in enumerate(slots):
            inverse[number, filled[number]] = np.asarray(matrix, np.float32)
            index[n] = number * width + filled[number]
            filled[number] += 1
        feeds = {"frames": frames, "inverse": inverse, "slots": index}
        if into is None:
            (blob,) = self.align.run_bound(feeds, keep_on_device=True)
            return blob
        return self.align.run_into(feeds, {"blob": into})

    def pasted(self, frames: Any, at: int, faces: Any, k: int, mask: np.ndarray, matrix: Matrix, roi: Roi, *,
               to_host: bool = False) -> Any:
        """Frame ``at`` of ``frames`` (a ``[M,H,W,3]`` device tensor) with face ``k`` of ``faces`` (``[K,3,S,S]``
        on the device) blended in over ``roi`` (:func:`~faceright.engine.swap.pasteback.mask_roi`), as
        ``[1,H,W,3]``: on the device, or with ``to_host`` as a numpy array (the one copy down)."""
        feeds = {"frames": frames, "at": np.array([at], np.int64), "faces": faces, "k": np.array([k], np.int64),
                 "mask": np.ascontiguousarray(mask, np.float32),
                 "matrix": np.asarray(matrix, np.float32).reshape(1, 2, 3), "roi": np.asarray(roi, np.int64)}
        (out,) = self.paste.run_bound(feeds, keep_on_device=not to_host)
        return out

    def swap(self, frame: Frame, matrices: Sequence[Matrix], session: Any, mask: np.ndarray, *,
             latent: np.ndarray, names: tuple[str, str, str], batch: int = 1) -> Frame:
        """:meth:`swap_frames` for one frame."""
        return self.swap_frames([(frame, matrices)], session, mask, latent=latent, names=names, batch=batch)[0]

    def swap_frames(self, items: Sequence[tuple[Frame, Sequence[Matrix]]], session: Any, mask: np.ndarray, *,
                    latent: np.ndarray, names: tuple[str, str, str], batch: int = 1) -> list[Frame]:
        """Each frame with one face per frame→crop matrix swapped by ``session`` (an inswapper-shaped
        :class:`~faceright.engine.runtime.Session`; ``names``: its target, source and output) and pasted
        back in order; the frames' faces go through the swapper ``batch`` at a time (1 for a model
        whose batch is fixed, and for a CUDA-graph session, whose buffers hold one face). Frames go
        up in groups whose faces fill one call (alone with one face a call: no copy), and each
        comes down once; a frame with no face on it comes back as it was (the same array)."""
        batch = 1 if getattr(session, "fixed", None) is not None else max(1, int(batch))
        out = [frame for frame, _ in items]
        placed = [[(m, roi) for m in matrices if (roi := mask_roi(mask, m, frame.shape)) is not None]
                  for frame, matrices in items]
        # frames go up in groups whose faces fill one call (one frame at a time for one face a call)
        group: list[int] = []
        faces = 0   # in the group
        for n in [n for n, found in enumerate(placed) if found]:
            if group and (faces + len(placed[n]) > batch
                          or items[n][0].shape != items[group[0]][0].shape):   # frames of one size go up together
                self._swap_group(group, items, placed, out, session, mask, latent, names, batch)
                group, faces = [], 0
            group.append(n)
            faces += len(placed[n])
        if group:
            self._swap_group(group, items, placed, out, session, mask, latent, names, batch)
        return out

    def _swap_group(self, numbers: Sequence[int], items: Sequence[tuple[Frame, Sequence[Matrix]]],
                    placed: Sequence[Sequence[tuple[Matrix, Roi]]], out: list[Frame], session: Any,
                    mask: np.ndarray, latent: np.ndarray, names: tuple[str, str, str], batch: int) -> None:
        faces_in = [(n, m, roi) for n in numbers for m, roi in placed[n]]
        row = {n: r for r, n in enumerate(numbers)}            # a frame's place among the uploaded ones
        last = {n: i for i, (n, _, _) in enumerate(faces_in)}  # where each frame's last face is
        target, source, output = names
        fixed = getattr(session, "fixed", None)
        with self._lock:   # a fixed binding's buffers hold one face at a time
            stacked = items[numbers[0]][0][None] if len(numbers) == 1 else np.stack([items[n][0] for n in numbers])
            originals = self.upload(stacked)
            current: dict[int, tuple[Any, int]] = {n: (originals, row[n]) for n in numbers}
            for start in range(0, len(faces_in), batch):
                chunk = faces_in[start:start + batch]
                slots = [(row[n], cv2.invertAffineTransform(np.asarray(m, np.float64))) for n, m, _ in chunk]
                if fixed is not None:   # the crop is written into the CUDA graph's own input buffer
                    with fixed.lock:
                        self.crops(originals, len(numbers), slots, into=fixed.buffer(target))
                        (faces,) = fixed.run({source: latent}, [output], keep_on_device=True)
                        self._paste_chunk(chunk, start, faces, current, last, out, mask)
                    continue
                blob = self.crops(originals, len(numbers), slots)
                latents = np.repeat(np.ascontiguousarray(latent, np.float32).reshape(1, -1), len(chunk), axis=0)
                (faces,) = session.run_bound({target: blob, source: latents}, [output], keep_on_device=True)
                self._paste_chunk(chunk, start, faces, current, last, out, mask)

    def _paste_chunk(self, chunk: Sequence[tuple[int, Matrix, Roi]], start: int, faces: Any,
                     current: dict[int, tuple[Any, int]], last: dict[int, int], out: list[Frame],
                     mask: np.ndarray) -> None:
        for k, (n, matrix, roi) in enumerate(chunk):
            frames, at = current[n]
            done = last[n] == start + k
            pasted = self.pasted(frames, at, faces, k, mask, matrix, roi, to_host=done)
            if done:
                out[n] = pasted[0]
            else:
                current[n] = (pasted, 0)
