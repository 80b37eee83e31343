"""YuNet at any input size: its graph's spatial input dims declared symbolic.

OpenCV Zoo's YuNet (``face_detection_yunet_2023mar*``) is fully convolutional: its two upsamplings
are ``Resize`` by scale and its heads ``Reshape`` to ``[1,-1,w]``, so nothing in the graph depends
on the input's height and width; OpenCV's ``FaceDetectorYN.setInputSize`` runs it at any multiple
of 32. The shipped int8 file still declares its input ``1×3×640×640`` (and its outputs'
cell counts, and every intermediate shape, for that size), and onnxruntime holds a session to
what the file declares. :func:`free_yunet_input_size` rewrites the declaration only: the
input becomes ``1×3×height×width``, each output's cell axis symbolic, and the stale
intermediate shapes are dropped. No node or weight changes.

This is YuNet's alone, not a generic fix-up: it checks YuNet's signature and that every node is
one whose output size follows its input's (convolutions, pooling, pointwise ops, ``Resize`` by
scales, ``Reshape`` to a shape with a ``-1``), and refuses anything else with a
:class:`~faceright.errors.ModelError`. The runtime applies it to models routed as ``yunet``.
"""
from __future__ import annotations

import logging
import re

import onnx
from onnx import numpy_helper

from faceright.errors import ModelError

__all__ = ["free_yunet_input_size"]

log = logging.getLogger(__name__)

_OUTPUT = re.compile(r"^(cls|obj|bbox|kps)_(8|16|32)$")
_WIDTHS = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}

#: ops whose output size follows their input's; Resize and Reshape are checked further
_SIZE_FREE_OPS = frozenset({
    "Conv", "Relu", "Sigmoid", "MaxPool", "AveragePool", "Add", "Mul", "Concat", "Transpose",
    "BatchNormalization", "DequantizeLinear", "QuantizeLinear", "Resize", "Reshape", "Identity",
})


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value.type.tensor_type.shape.dim]


def _refuse(model: onnx.ModelProto, why: str) -> ModelError:
    name = model.graph.name or "the model"
    return ModelError(f"cannot run {name} at other input sizes: {why} (expected OpenCV Zoo's YuNet)")


def _check(model: onnx.ModelProto) -> None:
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in initializers]
    channels = _dims(inputs[0])[1] if len(inputs) == 1 and len(_dims(inputs[0])) == 4 else None
    if channels is None or isinstance(channels, int) and channels not in (0, 3):
        listed = ", ".join(f"{v.name}{_dims(v)}" for v in inputs[:3]) + (", ..." if len(inputs) > 3 else "")
        raise _refuse(model, f"it has {len(inputs)} inputs ({listed}), not one [1,3,H,W] image")
    found = {}
    for output in graph.output:
        m = _OUTPUT.match(output.name)
        dims = _dims(output)
        if m is None or len(dims) != 3 or dims[-1] != _WIDTHS[m.group(1)]:
            raise _refuse(model, f"output {output.name} {dims} is not one of YuNet's cls/obj/bbox/kps_<stride>")
        found[output.name] = dims
    if len(found) != 12:
        raise _refuse(model, f"it has {len(found)} outputs, YuNet has 12")
    constant = set(initializers)  # tensors computed from weights alone (nodes are in topological order)
    for node in graph.node:
        if all(n in constant for n in node.input if n):
            constant.update(node.output)
            continue
        if node.op_type not in _SIZE_FREE_OPS or node.domain not in ("", "ai.onnx"):
            raise _refuse(model, f"node {node.name or node.output[0]} is a {node.domain or 'ai.onnx'} "
                                 f"{node.op_type}, which may depend on the input size")
        if node.op_type == "Resize" and len(node.input) > 3 and node.input[3]:
            raise _refuse(model, f"Resize node {node.name or node.output[0]} resizes to fixed sizes, not by scales")
        if node.op_type == "Reshape":
            shape = initializers.get(node.input[1])
            if shape is None or -1 not in numpy_helper.to_array(shape).tolist():
                raise _refuse(model, f"Reshape node {node.name or node.output[0]} reshapes activations to a fixed "
                                     "shape")


def free_yunet_input_size(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of the YuNet ``model`` whose input is ``1×3×height×width`` (any multiple of 32)."""
    _check(model)
    free = onnx.ModelProto()
    free.CopyFrom(model)
    graph = free.graph
    initializers = {t.name for t in graph.initializer}
    (image,) = [v for v in graph.input if v.name not in initializers]
    dims = image.type.tensor_type.shape.dim
    for axis, name in ((2, "height"), (3, "width")):
        dims[axis].ClearField("dim_value")
        dims[axis].dim_param = name
    for output in graph.output:
        cells = output.type.tensor_type.shape.dim[1]
        cells.ClearField("dim_value")
        cells.dim_param = f"{output.name}_cells"
    stale = len(graph.value_info)
    del graph.value_info[:]
    log.debug("YuNet %r: input declared 1×3×height×width, %d intermediate shapes dropped", graph.name, stale)
    return free
