"""Stand-in models for the benchmarks, built at run time with ``onnx.helper`` (nothing downloaded).

- :func:`build_inswapper_shaped`: inswapper_128's exact inputs and outputs — ``target``
  ``[1,3,128,128]`` float32, ``source`` ``[1,512]`` float32 → ``output`` ``[1,3,128,128]`` —
  and its 512×512 ``emap`` as the graph's last initializer, used by no node, so faceright's
  routing takes it for an inswapper. Its compute is a stack of 3×3 convolutions at 128×128
  with a known FLOP count (:func:`inswapper_shaped_flops`, about 4.9 GFLOP per call); the
  latent shifts the first layer's channels, so the output depends on the donor as a real
  swapper's does. Random weights: the pixels it draws mean nothing, the time it takes does.

An inswapper needs the donor's 512-d identity, which the engine takes from a 512-d recogniser of
the catalog: the benchmarks register the tests' ArcFace stand-in (``tests/onnx_builders.py``)
next to it.

Opset 17, IR version 8 (onnxruntime ≥ 1.15). Same seed, same bytes: the model cache keeps
them by sha256 from one run to the next.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

OPSET = 17
IR_VERSION = 8
SIDE = 128
LATENT = 512

#: the inswapper-shaped model's convolutions: 3 → C, (C → C) × MIDDLE, C → 3, all 3×3 "same" at 128×128
CHANNELS = 64
MIDDLE = 4
KERNEL = 3


def _layers() -> list[tuple[int, int]]:
    return [(3, CHANNELS)] + [(CHANNELS, CHANNELS)] * MIDDLE + [(CHANNELS, 3)]


def inswapper_shaped_flops() -> dict[str, int]:
    """The exact FLOP count of one call (batch 1) of :func:`build_inswapper_shaped`'s model.

    A multiply-add counts 2 (``conv``, ``latent``); every other element operation 1 (biases,
    ReLUs, the latent's add, the sigmoid taken as 1 though onnxruntime spends more on it)."""
    pixels = SIDE * SIDE
    layers = _layers()
    conv = sum(2 * cin * cout * KERNEL * KERNEL * pixels for cin, cout in layers)
    bias = sum(cout for _, cout in layers) * pixels
    relu = sum(cout for _, cout in layers[:-1]) * pixels
    latent = 2 * LATENT * CHANNELS + CHANNELS * pixels        # MatMul [1,512]×[512,C], then Add over the map
    sigmoid = 3 * pixels
    total = conv + bias + relu + latent + sigmoid
    return {"conv": conv, "bias": bias, "relu": relu, "latent": latent, "sigmoid": sigmoid, "total": total}


def _save(graph, path: Path) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="faceright-benchmarks")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_inswapper_shaped(path: Path, seed: int = 0, *, dynamic_batch: bool = False) -> Path:
    """Write the inswapper-shaped model (see the module's docstring) to ``path``; with ``dynamic_batch`` its
    batch axis is symbolic (``"batch"``) instead of 1, as some exports have it (same weights, same FLOP per face)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    initializers, nodes = [], []
    current = "target"
    for i, (cin, cout) in enumerate(_layers()):
        fan_in = cin * KERNEL * KERNEL
        weight = (rng.standard_normal((cout, cin, KERNEL, KERNEL)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        bias = (0.01 * rng.standard_normal(cout)).astype(np.float32)
        initializers += [numpy_helper.from_array(weight, f"conv{i}_w"), numpy_helper.from_array(bias, f"conv{i}_b")]
        out = f"conv{i}"
        nodes.append(helper.make_node("Conv", [current, f"conv{i}_w", f"conv{i}_b"], [out],
                                      kernel_shape=[KERNEL, KERNEL], pads=[1, 1, 1, 1]))
        if i == 0:   # the donor's latent shifts the first layer's channels
            projection = (rng.standard_normal((LATENT, CHANNELS)) / np.sqrt(LATENT)).astype(np.float32)
            initializers += [numpy_helper.from_array(projection, "latent_w"),
                             numpy_helper.from_array(np.array([-1, CHANNELS, 1, 1], np.int64), "latent_shape")]
            nodes += [helper.make_node("MatMul", ["source", "latent_w"], ["latent"]),
                      helper.make_node("Reshape", ["latent", "latent_shape"], ["latent_4d"]),
                      helper.make_node("Add", [out, "latent_4d"], ["conv0_shifted"])]
            out = "conv0_shifted"
        if i < len(_layers()) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"]))
            out = f"relu{i}"
        current = out
    nodes.append(helper.make_node("Sigmoid", [current], ["output"]))
    emap = (rng.standard_normal((LATENT, LATENT)) / np.sqrt(LATENT)).astype(np.float32)
    initializers.append(numpy_helper.from_array(emap, "emap"))   # last, used by no node, as in inswapper_128
    batch = "batch" if dynamic_batch else 1
    graph = helper.make_graph(
        nodes, "inswapper_shaped",
        [helper.make_tensor_value_info("target", TensorProto.FLOAT, [batch, 3, SIDE, SIDE]),
         helper.make_tensor_value_info("source", TensorProto.FLOAT, [batch, LATENT])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 3, SIDE, SIDE])],
        initializer=initializers,
    )
    return _save(graph, path)
