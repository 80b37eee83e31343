"""ArcFace-style recognisers (insightface's ``w600k_r50.onnx``, ``glint360k_r100.onnx``, ...).

Signature: one input ``[N,3,112,112]`` (batch usually dynamic) → one output ``[N,dim]``
(512 for insightface's models). Input: the aligned crop in RGB, (x − 127.5) / 127.5; models
exported from MXNet that normalise inside the graph (their first nodes hold Sub and Mul) take
raw pixels: :meth:`ArcFace.options_from_graph` tells, from the ONNX graph, which applies.
Any recogniser-shaped signature matches except SFace's own (``data`` → ``fc1`` [N,128]),
so an ArcFace-style model of another width (128 included) can be served as ArcFace.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable

if TYPE_CHECKING:
    import onnx

from .base import OnnxRecogniser, recogniser_ports
from .sface import SFACE_DIM


class ArcFace(OnnxRecogniser):
    """An ArcFace-style recogniser: (RGB − 127.5) / 127.5 in, an identity vector out."""

    family: ClassVar[str] = "arcface"
    expected: ClassVar[str] = "one input [N,3,112,112] and one output [N,dim] (insightface's w600k_r50.onnx: dim 512)"
    input_mean: ClassVar[float] = 127.5
    input_std: ClassVar[float] = 127.5

    @classmethod
    def matches(cls, inputs: Iterable[Any], outputs: Iterable[Any]) -> bool:
        found = recogniser_ports(inputs, outputs)
        if found is None:
            return False
        image, embedding = found
        return not (image.name == "data" and embedding.name == "fc1" and embedding.dim(1) == SFACE_DIM)

    @staticmethod
    def options_from_graph(model: onnx.ModelProto) -> dict[str, float]:
        """Normalisation options for ``model``: raw pixels when the graph normalises itself.

        insightface's rule: Sub and Mul among the first 8 nodes mean an MXNet export that
        subtracts the mean and scales inside the graph.
        """
        ops = {node.op_type for node in model.graph.node[:8]}
        if "Sub" in ops and "Mul" in ops:
            return {"input_mean": 0.0, "input_std": 1.0}
        return {}
