"""Explicit shapes for TensorRT: every tensor of a graph annotated, symbolic dimensions kept.

onnxruntime's TensorRT provider builds an engine from subgraphs whose tensor shapes it must
know; an export that carries no ``value_info`` for its intermediate tensors (most
``torch.onnx`` exports with dynamic axes, hand-edited graphs) makes it fall back to CUDA per
node, or fail to build. onnxruntime documents the cure: run its symbolic shape inference
(``onnxruntime.tools.symbolic_shape_infer``, which needs ``sympy``) on the model first.

:func:`needs_shapes` says whether a graph lacks any; :func:`with_explicit_shapes` returns the
annotated graph. The model cache keeps the result by the model's sha256
(:meth:`~faceright.engine.models.prepared.ModelCache.tensorrt_source`), so it is done once per
model content, and only for sessions that ask for TensorRT.
"""
from __future__ import annotations

from typing import Any

from faceright.errors import DependencyMissingError

from .errors import ModelError

__all__ = ["needs_shapes", "with_explicit_shapes"]


def _known(model: Any) -> set[str]:
    graph = model.graph
    named = [*graph.input, *graph.output, *graph.value_info]
    return {v.name for v in named if v.type.tensor_type.HasField("shape")} | {t.name for t in graph.initializer}


def needs_shapes(model: Any) -> bool:
    """Whether any tensor a node of ``model``'s main graph produces has no shape annotation."""
    known = _known(model)
    return any(out and out not in known for node in model.graph.node for out in node.output)


def with_explicit_shapes(model: Any) -> Any:
    """``model`` with a shape for every tensor (symbolic where the graph's axes are dynamic)."""
    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    except ImportError as exc:   # onnxruntime's tool imports sympy
        raise DependencyMissingError(
            f"TensorRT needs every tensor's shape, and inferring them needs sympy ({exc}): "
            "pip install 'faceright[gpu]' (it brings sympy)") from exc
    try:
        inferred = SymbolicShapeInference.infer_shapes(model, auto_merge=True, guess_output_rank=True)
    except Exception as exc:   # the tool raises bare Exceptions and AssertionErrors on graphs it cannot follow
        raise ModelError(f"symbolic shape inference failed on this graph: {exc}") from exc
    if inferred is None:
        raise ModelError("symbolic shape inference returned no model (the graph has operators it cannot follow)")
    return inferred
