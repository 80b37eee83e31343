"""SCRFD decoding, on stand-in models with insightface's real signature whose outputs encode known faces.

No SCRFD weights ship in any package (reference/models.md §1), so tests/onnx_builders.py's
``build_scrfd`` writes a model with scrfd_10g_bnkps.onnx's 9-output signature whose score,
box and landmark maps are constants placing chosen faces at chosen anchors: decoding must
give exactly those faces back.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceright.engine.detect import DETECTORS, SCRFD, RetinaFace, YuNet
from faceright.errors import ModelError
from onnx_builders import ScrfdFace, build_scrfd

SMALL = ScrfdFace(box=(100.0, 90.0, 136.0, 134.0), kps=((110, 105), (126, 105), (118, 114), (111, 124), (125, 124)),
                  score=0.95)
MEDIUM = ScrfdFace(box=(300.0, 200.0, 410.0, 340.0), kps=((330, 250), (380, 251), (356, 280), (334, 310), (377, 309)),
                   score=0.85)
LARGE = ScrfdFace(box=(150.0, 380.0, 360.0, 630.0), kps=((200, 470), (310, 468), (255, 530), (210, 580), (300, 578)),
                  score=0.75)


def session_for(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_same_faces(found, expected, scale=1.0):
    assert len(found) == len(expected)
    for face, want in zip(found, sorted(expected, key=lambda f: -f.score)):
        np.testing.assert_allclose(face.box, np.array(want.box) * scale, atol=1e-3)
        np.testing.assert_allclose(face.landmarks, np.array(want.kps) * scale, atol=1e-3)
        assert face.score == pytest.approx(want.score, abs=1e-6)
        assert face.box.dtype == np.float32 and face.landmarks.shape == (5, 2)


@pytest.fixture
def scrfd9(tmp_path):
    placed = build_scrfd(tmp_path / "scrfd.onnx", [SMALL, MEDIUM, LARGE])
    return session_for(tmp_path / "scrfd.onnx"), placed


def test_decodes_faces_at_all_three_strides(scrfd9):
    session, placed = scrfd9
    assert sorted(p.stride for p in placed) == [8, 16, 32]
    detector = SCRFD(session, model_id="scrfd_10g_bnkps")
    found = detector.detect(np.zeros((640, 640, 3), np.uint8))
    assert_same_faces(found, placed)


def test_letterboxed_frames_map_back_to_frame_pixels(tmp_path):
    """A 1280×720 frame is scaled by 0.5 into the 640×640 input: faces come back at twice the size."""
    faces = [SMALL, MEDIUM]  # both inside the 640×360 band the frame fills
    placed = build_scrfd(tmp_path / "scrfd.onnx", faces)
    detector = SCRFD(session_for(tmp_path / "scrfd.onnx"), model_id="scrfd")
    found = detector.detect(np.zeros((720, 1280, 3), np.uint8))
    assert_same_faces(found, placed, scale=2.0)


def test_batched_exports_decode_the_same(tmp_path):
    placed = build_scrfd(tmp_path / "scrfd.onnx", [SMALL, MEDIUM, LARGE], batched=True)
    session = session_for(tmp_path / "scrfd.onnx")
    assert len(session.get_outputs()[0].shape) == 3
    found = SCRFD(session, model_id="scrfd").detect(np.zeros((640, 640, 3), np.uint8))
    assert_same_faces(found, placed)


def test_output_names_and_order_do_not_matter(tmp_path):
    """Real exports name outputs by number ("448", "471", ...); outputs are told apart by shape."""
    path = tmp_path / "scrfd.onnx"
    placed = build_scrfd(path, [SMALL, MEDIUM, LARGE], output_names=[str(448 + 3 * i) for i in range(9)])
    model = onnx.load(str(path))
    shuffled = [model.graph.output[i] for i in (7, 2, 4, 0, 8, 3, 1, 6, 5)]
    model.graph.ClearField("output")
    model.graph.output.extend(shuffled)
    onnx.save(model, str(path))
    found = SCRFD(session_for(path), model_id="scrfd").detect(np.zeros((640, 640, 3), np.uint8))
    assert_same_faces(found, placed)


def test_threshold_keeps_only_confident_faces(tmp_path):
    weak = ScrfdFace(box=LARGE.box, kps=LARGE.kps, score=0.4)
    build_scrfd(tmp_path / "scrfd.onnx", [SMALL, weak], background_score=0.3)
    session = session_for(tmp_path / "scrfd.onnx")
    frame = np.zeros((640, 640, 3), np.uint8)
    assert [round(f.score, 2) for f in SCRFD(session, model_id="scrfd").detect(frame)] == [0.95]
    assert [round(f.score, 2) for f in SCRFD(session, model_id="scrfd", threshold=0.35).detect(frame)] == [0.95, 0.4]


def test_overlapping_detections_are_suppressed(tmp_path):
    """The same face seen at two strides: NMS keeps the better one, unless told to keep overlaps."""
    twin = ScrfdFace(box=(302.0, 204.0, 412.0, 342.0), kps=MEDIUM.kps, score=0.8, stride=32)
    build_scrfd(tmp_path / "scrfd.onnx", [MEDIUM, twin])
    session = session_for(tmp_path / "scrfd.onnx")
    frame = np.zeros((640, 640, 3), np.uint8)
    found = SCRFD(session, model_id="scrfd").detect(frame)
    assert [round(f.score, 2) for f in found] == [0.85]
    assert len(SCRFD(session, model_id="scrfd", nms_threshold=1.0).detect(frame)) == 2


def test_no_face_above_threshold_gives_an_empty_list(tmp_path):
    build_scrfd(tmp_path / "scrfd.onnx", [])
    assert SCRFD(session_for(tmp_path / "scrfd.onnx"), model_id="scrfd").detect(np.zeros((64, 64, 3), np.uint8)) == []


def test_dynamic_input_models_use_input_size_and_refuse_outputs_that_do_not_fit(tmp_path):
    path = tmp_path / "scrfd.onnx"
    placed = build_scrfd(path, [SMALL, MEDIUM, LARGE])
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    onnx.save(model, str(path))
    session = session_for(path)
    detector = SCRFD(session, model_id="scrfd")
    assert detector.input_size == (640, 640)
    assert_same_faces(detector.detect(np.zeros((640, 640, 3), np.uint8)), placed)
    small = SCRFD(session, model_id="scrfd-at-320", input_size=320)
    with pytest.raises(ModelError, match=r"scrfd-at-320: stride-8 outputs hold 12800 scores.*320×320"):
        small.detect(np.zeros((640, 640, 3), np.uint8))


def test_a_model_without_landmarks_is_refused_with_the_reason(tmp_path):
    build_scrfd(tmp_path / "scrfd_500m.onnx", [SMALL], kps=False)
    with pytest.raises(ModelError, match="without landmarks.*_kps"):
        SCRFD(session_for(tmp_path / "scrfd_500m.onnx"), model_id="scrfd_500m.onnx")


def det_10g_signature(strides=(8, 16, 32), kps=True, batch=False):
    """insightface's det_10g.onnx as onnxruntime reports it: dynamic input, outputs [?, 1|4|10]."""
    lead = [1] if batch else []
    outputs = []
    for kind, width in (("score", 1), ("bbox", 4)) + ((("kps", 10),) if kps else ()):
        outputs += [(f"{kind}_{s}", lead + [None, width]) for s in strides]
    return [("input.1", [1, 3, None, None])], outputs


@pytest.mark.parametrize("strides", [(8, 16, 32), (8, 16, 32, 64, 128)])
@pytest.mark.parametrize("kps", [True, False])
@pytest.mark.parametrize("batch", [True, False])
def test_routing_by_signature_knows_scrfd_and_only_scrfd(strides, kps, batch):
    inputs, outputs = det_10g_signature(strides, kps, batch)
    assert SCRFD.matches(inputs, outputs)
    assert not RetinaFace.matches(inputs, outputs)
    assert not YuNet.matches(inputs, outputs)


def test_symbolic_output_widths_are_read_in_insightface_order():
    inputs, outputs = det_10g_signature()
    unknown = [(name, [None, None]) for name, _ in outputs]
    assert SCRFD.matches(inputs, unknown)
    wrong = [(name, [None, 4 if i < 3 else None]) for i, (name, _) in enumerate(outputs)]  # "scores" of width 4
    assert not SCRFD.matches(inputs, wrong)
    assert not SCRFD.matches(inputs, outputs[:8])
    assert not SCRFD.matches([("a", [1, 3, 640, 640]), ("b", [1, 3, 640, 640])], outputs)


def test_served_for_its_family():
    assert DETECTORS["scrfd"] is SCRFD
