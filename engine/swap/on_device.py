"""Align, swap and paste back on the swapper's device: a frame goes up once and comes down once.

On a GPU the CPU path costs three host round trips per face (the aligned crop up, the swapped
crop down, paste-back's warps on the CPU). Here the two image steps are small ONNX graphs, run
by onnxruntime on the swapper's provider, and every tensor between them stays where it is:

1. **align** (``frame`` ``[H,W,3]`` uint8 BGR, ``inverse`` ``[N,2,3]`` crop→frame matrices) →
   ``blob`` ``[N,3,S,S]`` float RGB in [0, 1]: the swapper's input, bilinear with the border
   replicated, as ``cv2.warpAffine(..., BORDER_REPLICATE)`` makes it on the CPU;
2. the swapper, fed that blob where it lies (a CUDA-graph session's own input buffer: the align
   graph writes straight into it, :mod:`faceright.engine.fixed_binding`);
3. **paste** (``frame``, the swapped ``face`` ``[1,3,S,S]``, its feathered ``mask`` ``[S,S]``,
   ``matrix`` ``[1,2,3]`` frame→crop, ``roi`` ``[4]``: the frame box the mask can weigh, as the CPU's
   paste-back finds it) → the frame with the face blended in where the warped mask weighs more
   than 0, sampled over the ROI only, every other pixel the input's, exactly (``Where``), as
   :func:`~faceright.engine.swap.pasteback.paste_back` guarantees on the CPU. Faces go in one at
   a time, later over earlier.

The graphs are built once with ``onnx.helper`` and kept under the model cache (``device-graphs/``),
so later processes do not import ``onnx``. The same graphs run on the CPU provider in the tests,
compared with exact bilinear sampling and with the CPU path (a few grey levels inside the faces:
float sampling against OpenCV's 1/32-pixel grid and its 8-bit crop; equal outside them).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ..types import Frame, Matrix
from .pasteback import Roi, mask_roi

log = logging.getLogger(__name__)

__all__ = ["GRAPH_VERSION", "OnDevice", "align_graph", "paste_graph"]

#: bump when a graph changes: the cached files are named by it
GRAPH_VERSION = 2
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


def _normaliser(helper: Any, TensorProto: Any, nodes: list, shape_of: str, prefix: str) -> str:
    """Nodes giving ``[2/(W-1), 2/(H-1)]`` for the ``[H,W,...]`` tensor ``shape_of``: pixel → GridSample's
    [-1, 1] with align_corners (−1 and 1 are the first and last pixels' centres)."""
    nodes += [
        helper.make_node("Shape", [shape_of], [f"{prefix}_shape"]),
        _const(helper, TensorProto, f"{prefix}_wh_idx", [1, 0], np.int64),
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
        helper.make_node("Cast", ["frame"], ["frame_f"], to=TensorProto.FLOAT),
        _const(helper, TensorProto, "rgb_idx", [2, 1, 0], np.int64),
        helper.make_node("Gather", ["frame_f", "rgb_idx"], ["rgb"], axis=2),
        helper.make_node("Transpose", ["rgb"], ["chw"], perm=[2, 0, 1]),
        _const(helper, TensorProto, "axis0", [0], np.int64),
        helper.make_node("Unsqueeze", ["chw", "axis0"], ["image"]),
        _const(helper, TensorProto, "base", base),
        helper.make_node("Transpose", ["inverse"], ["inverse_t"], perm=[0, 2, 1]),       # [N, 3, 2]
        helper.make_node("MatMul", ["base", "inverse_t"], ["points"]),                   # [N, S², 2] frame pixels
    ]
    scale = _normaliser(helper, TensorProto, nodes, "frame", "f")
    nodes += [
        helper.make_node("Mul", ["points", scale], ["scaled"]),
        _const(helper, TensorProto, "one", [1.0]),
        helper.make_node("Sub", ["scaled", "one"], ["normed"]),
        _const(helper, TensorProto, "grid_shape", [1, -1, size, 2], np.int64),
        helper.make_node("Reshape", ["normed", "grid_shape"], ["grid"]),                 # [1, N·S, S, 2]
        helper.make_node("GridSample", ["image", "grid"], ["sampled"], mode="bilinear", padding_mode="border",
                         align_corners=1),                                               # [1, 3, N·S, S]
        _const(helper, TensorProto, "split_shape", [3, -1, size, size], np.int64),
        helper.make_node("Reshape", ["sampled", "split_shape"], ["per_face"]),
        helper.make_node("Transpose", ["per_face"], ["faces"], perm=[1, 0, 2, 3]),
        _const(helper, TensorProto, "to_unit", [1.0 / 255.0]),
        helper.make_node("Mul", ["faces", "to_unit"], ["blob"]),
    ]
    graph = helper.make_graph(
        nodes, "faceright_align",
        [helper.make_tensor_value_info("frame", TensorProto.UINT8, ["h", "w", 3]),
         helper.make_tensor_value_info("inverse", TensorProto.FLOAT, ["n", 2, 3])],
        [helper.make_tensor_value_info("blob", TensorProto.FLOAT, ["n", 3, size, size])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="faceright")
    onnx.checker.check_model(model)
    return model.SerializeToString()


def paste_graph(size: int) -> bytes:
    """The paste graph for ``size``² crops (see the module's docstring), serialised."""
    onnx, TensorProto, helper = _helpers()
    big = np.iinfo(np.int64).max   # Slice's "to the end"
    nodes: list = [
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
        helper.make_node("Concat", ["above", "rows", "below"], ["out"], axis=0),
    ]
    graph = helper.make_graph(
        nodes, "faceright_paste",
        [helper.make_tensor_value_info("frame", TensorProto.UINT8, ["h", "w", 3]),
         helper.make_tensor_value_info("face", TensorProto.FLOAT, [1, 3, size, size]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [size, size]),
         helper.make_tensor_value_info("matrix", TensorProto.FLOAT, [1, 2, 3]),
         helper.make_tensor_value_info("roi", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("out", TensorProto.UINT8, ["h", "w", 3])])
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

    def upload(self, frame: Frame) -> Any:
        """The frame as a tensor on the device (the one copy up)."""
        ort = self.paste.ort
        return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(frame, np.uint8), self.paste.device,
                                                self.paste.device_id)

    def crops(self, frame: Any, inverses: Sequence[Matrix], *, into: Any = None) -> Any:
        """The aligned blobs ``[N,3,S,S]`` of ``frame`` (a device tensor) on the device; ``into``: a
        device buffer of that shape to write them to (a CUDA-graph swapper's own input)."""
        inverse = np.ascontiguousarray(np.stack([np.asarray(m, np.float32) for m in inverses]), np.float32)
        if into is None:
            (blob,) = self.align.run_bound({"frame": frame, "inverse": inverse}, keep_on_device=True)
            return blob
        return self.align.run_into({"frame": frame, "inverse": inverse}, {"blob": into})

    def pasted(self, frame: Any, face: Any, mask: np.ndarray, matrix: Matrix, roi: Roi, *,
               to_host: bool = False) -> Any:
        """``frame`` (a device tensor) with ``face`` (``[1,3,S,S]`` on the device) blended in over ``roi``
        (:func:`~faceright.engine.swap.pasteback.mask_roi`): on the device, or with ``to_host`` as a
        numpy frame (the one copy down)."""
        feeds = {"frame": frame, "face": face, "mask": np.ascontiguousarray(mask, np.float32),
                 "matrix": np.asarray(matrix, np.float32).reshape(1, 2, 3), "roi": np.asarray(roi, np.int64)}
        (out,) = self.paste.run_bound(feeds, keep_on_device=not to_host)
        return out

    def swap(self, frame: Frame, matrices: Sequence[Matrix], session: Any, mask: np.ndarray, *,
             latent: np.ndarray, names: tuple[str, str, str]) -> Frame:
        """``frame`` with one face per frame→crop matrix swapped by ``session`` (an inswapper-shaped
        :class:`~faceright.engine.runtime.Session`; ``names``: its target, source and output) and
        pasted back in order. Every face is cropped from the frame as it came, as on the CPU."""
        placed = [(m, roi) for m in matrices if (roi := mask_roi(mask, m, frame.shape)) is not None]
        if not placed:   # every face off the frame
            return frame
        target, source, output = names
        latent = np.ascontiguousarray(latent, np.float32).reshape(1, -1)
        fixed = getattr(session, "fixed", None)
        with self._lock:   # a fixed binding's buffers hold one face at a time
            original = self.upload(frame)
            current = original
            for number, (matrix, roi) in enumerate(placed):
                inverse = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
                if fixed is not None:   # the crop is written into the CUDA graph's own input buffer
                    with fixed.lock:
                        self.crops(original, [inverse], into=fixed.buffer(target))
                        (face,) = fixed.run({source: latent}, [output], keep_on_device=True)
                else:
                    blob = self.crops(original, [inverse])
                    (face,) = session.run_bound({target: blob, source: latent}, [output], keep_on_device=True)
                current = self.pasted(current, face, mask, matrix, roi, to_host=number == len(placed) - 1)
        return current
