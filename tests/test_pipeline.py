"""The streaming pipeline: order, pass-through, bounded memory, errors, selection and batching."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from faceright.engine.pipeline import SwapPipeline
from faceright.engine.runtime import Runtime
from faceright.engine.select import Selection, TargetTracker, iou
from faceright.engine.settings import EngineSettings
from faceright.engine.swap import ClassicSwapper, InSwapper
from faceright.engine.types import Donor, Face, cosine

from onnx_builders import build_arcface, build_inswapper


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """The shipped YuNet + SFace, no user models."""
    return Runtime(EngineSettings(models_dir=tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def analyser(runtime):
    return runtime.analyser()


@pytest.fixture(scope="module")
def donor(analyser, grace_hopper):
    return Donor(grace_hopper, analyser.one_face(grace_hopper, what="donor"))


def _collect(pipeline, frames, **kwargs):
    out: dict[int, np.ndarray] = {}
    order: list[int] = []

    def write(index, frame):
        order.append(index)
        out[index] = frame

    stats = pipeline.run(frames, write, **kwargs)
    return stats, out, order


def _face_free_frames(n, size=(96, 128)):
    for i in range(n):
        frame = np.zeros((*size, 3), np.uint8)
        frame[:, :, 0] = i % 256
        frame[: size[0] // 2, :, 1] = 200
        yield i, frame


def test_frames_leave_in_order_and_a_frame_without_faces_passes_through_untouched(analyser, donor):
    inputs = dict(_face_free_frames(30))
    pipeline = SwapPipeline(analyser.faces, ClassicSwapper(), donor, Selection("all"), queue_size=2, batch_size=4)
    stats, out, order = _collect(pipeline, iter(inputs.items()))
    assert order == list(range(30))
    assert all(out[i] is inputs[i] for i in range(30)), "a frame with no face must be handed on as decoded"
    assert stats.frames == 30 and stats.frames_swapped == 0


def test_only_the_face_region_changes_and_identity_moves_to_the_donor(analyser, donor, astronaut):
    frames = [(i, np.ascontiguousarray(np.roll(astronaut, 4 * i, axis=1))) for i in range(6)]
    originals = {i: f.copy() for i, f in frames}
    pipeline = SwapPipeline(analyser.faces, ClassicSwapper(), donor, Selection("largest"), queue_size=2, batch_size=3)
    stats, out, _ = _collect(pipeline, iter(frames))
    assert stats.frames_swapped == 6 and stats.faces_swapped == 6
    for i, frame in out.items():
        assert np.array_equal(originals[i], dict(frames)[i]), "the decoded frame must never be modified in place"
        changed = np.any(out[i] != originals[i], axis=2)
        ys, xs = np.nonzero(changed)
        assert len(ys) > 2000
        plate_face = analyser.faces(originals[i])[0]
        x1, y1, x2, y2 = plate_face.box
        w, h = x2 - x1, y2 - y1
        assert xs.min() >= x1 - 0.3 * w and xs.max() <= x2 + 0.3 * w
        assert ys.min() >= y1 - 0.3 * h and ys.max() <= y2 + 0.3 * h
    swapped = analyser.one_face(out[3], what="output")
    before = analyser.one_face(originals[3], what="plate")
    before = analyser.embed(originals[3], [before])[0]
    swapped = analyser.embed(out[3], [swapped])[0]
    assert cosine(swapped.embedding, donor.face.embedding) > cosine(before.embedding, donor.face.embedding) + 0.25



def test_frames_the_pipeline_owns_are_pasted_into_without_a_copy_and_give_the_same_pictures(analyser, donor,
                                                                                           astronaut):
    def frames():
        return [(i, np.ascontiguousarray(np.roll(astronaut, 4 * i, axis=1))) for i in range(4)]

    pipeline = SwapPipeline(analyser.faces, ClassicSwapper(), donor, Selection("largest"), queue_size=2, batch_size=2)
    _, copied, _ = _collect(pipeline, iter(frames()))
    owned = frames()
    stats, out, _ = _collect(pipeline, iter(owned), frames_owned=True)
    assert stats.frames_swapped == 4
    for i, frame in owned:
        assert out[i] is frame, "an owned frame is the canvas itself"
        assert np.array_equal(out[i], copied[i])
    # a frame that cannot be written (a shared, read-only array) is still copied
    shared = frames()
    for _, frame in shared:
        frame.setflags(write=False)
    _, out, _ = _collect(pipeline, iter(shared), frames_owned=True)
    assert all(out[i] is not frame and np.array_equal(out[i], copied[i]) for i, frame in shared)
    assert np.array_equal(shared[0][1], astronaut)

def test_memory_stays_flat_however_long_the_clip():
    """At most a bounded number of frames are between decoder and encoder, for 2000 frames."""
    produced = 0
    written = 0
    peak = 0
    lock = threading.Lock()

    def frames():
        nonlocal produced, peak
        for i in range(2000):
            with lock:
                produced += 1
                peak = max(peak, produced - written)
            yield i, np.zeros((8, 8, 3), np.uint8)

    def write(_index, _frame):
        nonlocal written
        with lock:
            written += 1

    class NoSwap:
        taskname = "swapper"

        def prepare(self, donor):
            return donor

        def patches(self, frame, targets, prepared):
            return []

    face = Face(np.array([0, 0, 4, 4], np.float32), 1.0, np.zeros((5, 2), np.float32))
    pipeline = SwapPipeline(lambda frame, embed: [face], NoSwap(), Donor(np.zeros((8, 8, 3), np.uint8), face),
                            Selection("all"), queue_size=3, batch_size=4)
    stats = pipeline.run(frames(), write)
    assert stats.frames == 2000
    # three queues of 3, one batch of 4, one frame in the hands of each of the 4 stages
    assert peak <= 3 * 3 + 4 + 4, peak


def test_an_error_in_any_stage_stops_every_stage_and_reaches_the_caller(donor):
    produced = []

    def frames():
        for i in range(10_000):
            produced.append(i)
            yield i, np.zeros((8, 8, 3), np.uint8)

    def analyse(frame, embed):
        if len(produced) > 20:
            raise RuntimeError("detector exploded")
        return []

    pipeline = SwapPipeline(analyse, ClassicSwapper(), donor, Selection("all"), queue_size=2)
    with pytest.raises(RuntimeError, match="detector exploded"):
        pipeline.run(frames(), lambda i, f: None)
    assert len(produced) < 100, "the decoder must stop when another stage fails"


def test_progress_reports_every_frame_with_the_total(analyser, donor):
    seen = []
    pipeline = SwapPipeline(analyser.faces, ClassicSwapper(), donor, Selection("all"))
    pipeline.run(_face_free_frames(12), lambda i, f: None, total=12, progress=seen.append)
    assert [p.done for p in seen] == list(range(1, 13))
    assert all(p.total == 12 for p in seen) and seen[-1].fraction == 1.0


def test_reference_selection_replaces_only_the_person_in_the_reference(analyser, donor, t1):
    faces = analyser.faces(t1)
    assert len(faces) == 6
    chosen = sorted(faces, key=lambda f: f.box[0])[2]
    x1, y1, x2, y2 = (int(v) for v in chosen.box)
    pad = (x2 - x1) // 2
    reference_image = np.ascontiguousarray(t1[max(0, y1 - pad):y2 + pad, max(0, x1 - pad):x2 + pad][:, ::-1])
    reference = analyser.one_face(reference_image, what="reference")
    selection = Selection("reference", reference_embedding=reference.embedding)
    pipeline = SwapPipeline(analyser.faces, ClassicSwapper(), donor, selection)
    _, out, _ = _collect(pipeline, iter([(0, t1), (1, t1)]))
    changed = np.any(out[0] != t1, axis=2)
    for face in faces:
        fx1, fy1, fx2, fy2 = (int(v) for v in face.box)
        inside = changed[fy1:fy2, fx1:fx2].mean()
        if face is chosen:
            assert inside > 0.3
        else:
            assert inside == 0.0, "a face that is not the reference person must stay untouched"


def _face(box, embedding=None):
    return Face(np.array(box, np.float32), 0.9, np.zeros((5, 2), np.float32), embedding)


def test_the_tracker_follows_the_chosen_face_when_the_reference_cannot_decide():
    a, b = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    turned = np.array([0.2, 0.1, 0.97, 0], np.float32)   # the same person in profile: low similarity
    tracker = TargetTracker(Selection("reference", reference_embedding=a, max_gap=2))
    first = tracker.select([_face([100, 100, 200, 200], a), _face([300, 100, 400, 200], b)])
    assert [f.box[0] for f in first] == [100]
    moved = tracker.select([_face([110, 105, 210, 205], turned), _face([300, 100, 400, 200], b)])
    assert [f.box[0] for f in moved] == [110], "a turned face keeps its track by overlap"
    assert tracker.select([]) == []            # a frame with no face passes through
    assert tracker.select([]) == []
    assert tracker.select([]) == []            # gap > max_gap: the track is dropped
    assert tracker.select([_face([115, 105, 215, 205], turned)]) == []


def test_largest_rule_and_iou():
    tracker = TargetTracker(Selection("largest"))
    picked = tracker.select([_face([0, 0, 10, 10]), _face([50, 50, 90, 90])])
    assert picked[0].box[0] == 50
    assert iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)


def test_faces_of_frames_queued_behind_a_busy_swapper_go_through_it_in_one_batch(tmp_path, astronaut, grace_hopper):
    build_inswapper(tmp_path / "swapper.onnx", dynamic_batch=True)
    build_arcface(tmp_path / "arcface.onnx")   # inswapper needs a 512-d donor embedding
    runtime = Runtime(EngineSettings(models_dir=tmp_path))
    for name in ("swapper.onnx", "arcface.onnx"):
        runtime.catalog.add(tmp_path / name)
    analyser = runtime.analyser()
    assert analyser.recogniser.dim == 512
    swapper = runtime.swapper()
    assert isinstance(swapper, InSwapper)
    donor = Donor(grace_hopper, analyser.one_face(grace_hopper, what="donor"))
    calls = []
    original_run = swapper.session.run

    analysing: list[threading.Thread] = []

    def analyse(frame, **kwargs):
        analysing[:] = [threading.current_thread()]
        return analyser.faces(frame, **kwargs)

    def counting_run(names, feeds, *args):
        calls.append(next(iter(feeds.values())).shape[0])
        if len(calls) == 1:
            # a busy swapper: its first call returns only once the analyser has queued every later frame behind it
            analysing[0].join(timeout=60)
            assert not analysing[0].is_alive(), "the analyser did not finish while the swapper was busy"
        return original_run(names, feeds, *args)

    swapper.session.run = counting_run
    pipeline = SwapPipeline(analyse, swapper, donor, Selection("largest"), queue_size=8, batch_size=8)
    stats, out, _ = _collect(pipeline, iter([(i, astronaut) for i in range(8)]))
    assert stats.faces_swapped == 8
    # the first call takes what was analysed when it started; all the frames queued behind it go in one more call
    assert sum(calls) == 8 and len(calls) <= 2, f"faces of several frames should share a model call: {calls}"
    assert not np.array_equal(out[0], astronaut)


def test_with_alpha_the_writer_gets_the_faces_blend_weights_and_nothing_where_no_face_was_pasted(analyser, donor,
                                                                                               astronaut):
    frames = [(0, np.ascontiguousarray(astronaut)), (1, np.zeros_like(astronaut))]
    received = {}

    def write(index, frame, alpha):
        received[index] = (frame, alpha)

    pipeline = SwapPipeline(analyser.faces, ClassicSwapper(), donor, Selection("largest"), queue_size=2)
    pipeline.run(iter(frames), write, with_alpha=True)
    frame, alpha = received[0]
    assert alpha.shape == astronaut.shape[:2] and alpha.dtype == np.float32
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0 and (alpha > 0.5).sum() > 1000
    changed = (frame != astronaut).any(axis=2)
    assert not changed[alpha == 0].any()                        # nothing changed where no face weighs
    assert 0 < ((alpha > 0) & (alpha < 1)).sum()                 # the soft edge
    assert received[1][1] is None                                # a frame without faces: no weights
