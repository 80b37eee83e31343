"""Graph fix-ups that let plain onnxruntime run models exported for other runtimes.

:func:`fix_for_onnxruntime` is generic and harmless on a model that needs nothing: it only
folds what is constant and drops what nothing reads.

- **Constant DequantizeLinear** nodes (weights stored as int8 + scale + zero point, block-wise
  in OpenCV Zoo's ``*_int8bq`` models) become float initializers. onnxruntime refuses some of
  these at run time ("block_size must be 0 for per-tensor quantization"); folding them is
  exact, since the result is what the node would compute.
- **Stale graph inputs**: inputs that are also initializers (IR ≥ 4), and inputs that no node
  reads and no initializer backs (SFace int8bq declares 29 such names, and onnxruntime then
  asks for them at ``run()``). Real data inputs stay.
- **Unused initializers** are dropped.

See ``reference/models.md`` §2.2 and §2.3.
"""
from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import numpy_helper

from .signature import consumed_names

log = logging.getLogger(__name__)

__all__ = ["fix_for_onnxruntime", "dequantize"]


def dequantize(
    quantized: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray | None = None,
    *,
    axis: int = 1,
    block_size: int = 0,
) -> np.ndarray:
    """What ONNX ``DequantizeLinear`` computes: ``(q − zero_point) × scale``.

    Per-tensor when ``scale`` is a scalar; per-axis when it is 1-D (one value per slice along
    ``axis``); blocked when ``block_size`` > 0 (``scale`` has the input's rank, and each value
    covers ``block_size`` consecutive elements along ``axis``).
    """
    s = np.asarray(scale)
    out_dtype = s.dtype if s.dtype.kind == "f" else np.dtype(np.float32)
    # q − z is exact in float32 for 8- and 16-bit integers; the product rounds as onnxruntime's does
    work = np.float64 if np.asarray(quantized).dtype.itemsize > 2 else out_dtype
    q = np.asarray(quantized).astype(work)
    s = s.astype(work)
    z = np.zeros((), dtype=work) if zero_point is None else np.asarray(zero_point).astype(work)
    rank = q.ndim
    if block_size == 0 and s.size == 1:  # per-tensor (a 1-element per-axis scale is the same thing)
        return ((q - z.reshape(())) * s.reshape(())).astype(out_dtype)
    ax = axis % rank
    if block_size == 0:  # per-axis
        shape = [1] * rank
        shape[ax] = q.shape[ax]
        s = s.reshape(shape)
        z = z.reshape(shape) if z.ndim > 0 else z
        return ((q - z) * s).astype(out_dtype)
    # blocked: scale[..., i // block_size, ...] along the axis; split the axis into (blocks, block_size)
    length = q.shape[ax]
    blocks = -(-length // block_size)
    pad = blocks * block_size - length
    if pad:
        widths = [(0, 0)] * rank
        widths[ax] = (0, pad)
        q = np.pad(q, widths)
    split = q.shape[:ax] + (blocks, block_size) + q.shape[ax + 1:]
    s = np.expand_dims(s, ax + 1)
    z = np.expand_dims(z, ax + 1) if z.ndim > 0 else z
    out = ((q.reshape(split) - z) * s).reshape(q.shape)
    if pad:
        out = out.take(np.arange(length), axis=ax)
    return out.astype(out_dtype, copy=False)


def _attributes(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _fold_dequantize(graph: onnx.GraphProto) -> int:
    initializers = {t.name: t for t in graph.initializer}
    kept: list[onnx.NodeProto] = []
    new: list[onnx.TensorProto] = []
    folded = 0
    for node in graph.node:
        inputs = [n for n in node.input if n]
        if node.op_type != "DequantizeLinear" or node.domain not in ("", "ai.onnx") or not inputs or any(
            n not in initializers for n in inputs
        ):
            kept.append(node)
            continue
        attrs = _attributes(node)
        arrays = [numpy_helper.to_array(initializers[n]) for n in node.input if n]
        zero = arrays[2] if len(arrays) > 2 else None
        value = dequantize(
            arrays[0], arrays[1], zero, axis=int(attrs.get("axis", 1)), block_size=int(attrs.get("block_size", 0))
        )
        new.append(numpy_helper.from_array(value, name=node.output[0]))
        folded += 1
    if folded:
        del graph.node[:]
        graph.node.extend(kept)
        graph.initializer.extend(new)
    return folded


def fix_for_onnxruntime(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` that plain onnxruntime loads and runs (see the module docstring)."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    graph = fixed.graph

    folded = _fold_dequantize(graph)

    consumed = consumed_names(graph)
    outputs = {o.name for o in graph.output}
    used = consumed | outputs

    unused_inits = [t.name for t in graph.initializer if t.name not in used]
    if unused_inits:
        keep = [t for t in graph.initializer if t.name in used]
        del graph.initializer[:]
        graph.initializer.extend(keep)
    init_names = {t.name for t in graph.initializer}

    # IR < 4 requires every initializer to be listed as a graph input; leave those alone.
    drop_init_inputs = fixed.ir_version >= 4
    kept_inputs = []
    dropped_inputs = []
    for value in graph.input:
        if value.name in init_names:
            if drop_init_inputs:
                dropped_inputs.append(value.name)
                continue
        elif value.name not in used:
            dropped_inputs.append(value.name)
            continue
        kept_inputs.append(value)
    if dropped_inputs:
        del graph.input[:]
        graph.input.extend(kept_inputs)

    if folded or unused_inits or dropped_inputs:
        log.debug(
            "fixed model %r for onnxruntime: folded %d DequantizeLinear, dropped %d unused initializers "
            "and %d stale graph inputs",
            graph.name, folded, len(unused_inits), len(dropped_inputs),
        )
    return fixed
