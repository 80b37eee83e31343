"""What the detectors share: NMS, the letterbox, reading signatures."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceright.engine.detect import iou, letterbox, nms, ports
from faceright.engine.detect.base import Port


def brute_force_nms(boxes, scores, threshold):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(iou(boxes[i], boxes[j][None])[0] <= threshold for j in kept):
            kept.append(i)
    return kept


boxes_strategy = st.lists(
    st.tuples(st.floats(0, 200), st.floats(0, 200), st.floats(1, 80), st.floats(1, 80), st.floats(0, 1)),
    min_size=0, max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(boxes_strategy, st.sampled_from([0.0, 0.3, 0.5, 0.9]))
def test_nms_keeps_what_a_brute_force_greedy_keeps(rows, threshold):
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h, _ in rows]).reshape(-1, 4)
    scores = np.array([s for *_, s in rows])
    assert nms(boxes, scores, threshold).tolist() == brute_force_nms(boxes, scores, threshold)


def test_nms_drops_the_weaker_of_two_overlapping_boxes_and_keeps_a_distant_one():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([0.8, 0.9, 0.5]), 0.4).tolist() == [1, 2]
    assert nms(boxes, np.array([0.8, 0.9, 0.5]), 0.4, top_k=1).tolist() == [1]


def test_iou_of_known_boxes():
    assert iou(np.array([0, 0, 10, 10]), np.array([[5, 0, 15, 10]]))[0] == pytest.approx(50 / 150)
    assert iou(np.array([0, 0, 10, 10]), np.array([[20, 20, 30, 30], [0, 0, 10, 10]])).tolist() == [0.0, 1.0]


def test_letterbox_keeps_the_aspect_and_pads_right_and_bottom():
    frame = np.full((720, 1280, 3), 200, np.uint8)
    canvas, sx, sy = letterbox(frame, (640, 640))
    assert canvas.shape == (640, 640, 3)
    assert (sx, sy) == (0.5, 0.5)
    assert (canvas[:360] == 200).all() and (canvas[360:] == 0).all()
    tall = np.full((600, 512, 3), 9, np.uint8)
    canvas, sx, sy = letterbox(tall, (640, 640))
    assert canvas[:, :546].min() == 9 and (canvas[:, 547:] == 0).all()
    assert sy == pytest.approx(640 / 600) and sx == pytest.approx(546 / 512)


def test_signatures_are_read_from_node_args_pairs_and_mappings():
    class NodeArg:  # onnxruntime's: name, shape with None / names for dynamic axes
        def __init__(self, name, shape):
            self.name, self.shape = name, shape

    expected = [Port("input", (None, 3, "h", 640))]
    assert ports([NodeArg("input", [None, 3, "h", 640])]) == expected
    assert ports([("input", [-1, 3, "h", 640])]) == expected
    assert ports({"input": (0, 3, "h", 640)}) == expected
    assert str(expected[0]) == "input[?,3,h,640]"
