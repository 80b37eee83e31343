"""Face tracks: landmarks smoothed without lag, the swap decision kept with hysteresis, a finite memory."""
from __future__ import annotations

import numpy as np
import pytest

from faceright.engine.swap.pose import PoseLimits, estimate_pose
from faceright.engine.tracks import HISTORY, FaceTracks, OneEuro
from faceright.engine.types import Face

from clips import frames_from_still
from test_swap_pose import project


def _face(landmarks) -> Face:
    points = np.asarray(landmarks, np.float32)
    x1, y1 = points.min(axis=0) - 40
    x2, y2 = points.max(axis=0) + 40
    return Face(box=np.array([x1, y1, x2, y2], np.float32), score=0.9, landmarks=points)


@pytest.fixture(scope="module")
def analyser(tmp_path_factory):
    from faceright.engine.runtime import Runtime
    from faceright.engine.settings import EngineSettings

    return Runtime(EngineSettings(models_dir=tmp_path_factory.mktemp("models"))).analyser()


def test_the_filter_holds_a_noisy_still_value_and_follows_a_ramp():
    """Noise of 2 % of the face's width (YuNet's, on a picture that shifts a pixel) is halved; a face
    moving one face width a second is followed within 4 % of its width (a first-order filter's lag is
    speed / (2π·cutoff), and the cutoff rises with the speed: at most 1 / (2π·beta))."""
    rng = np.random.default_rng(0)
    still = OneEuro(24, min_cutoff=1.0, beta=3.0)
    out = np.array([still(np.array([1.0 + 0.02 * rng.standard_normal()]))[0] for _ in range(96)])
    assert out[24:].std() < 0.5 * 0.02
    ramp = OneEuro(24, min_cutoff=1.0, beta=3.0)
    speed = 1.0   # face widths per second
    lag = [abs(ramp(np.array([speed * t / 24]))[0] - speed * t / 24) for t in range(48)]
    assert max(lag[12:]) < 0.04


def test_real_detector_jitter_on_a_shaking_still_is_smoothed_and_a_pan_is_followed(analyser, astronaut):
    """YuNet's points on a picture moved by ±1 px jump by more than the pixel; the tracks' do not.
    On a real pan the tracks stay within a few pixels of the points found on each frame."""
    still = next(frames_from_still(astronaut, 1, size=(1280, 720), motion="still", stamp=False))
    shaken = [np.roll(still, (i % 2, (i // 2) % 2), axis=(0, 1)) for i in range(48)]
    tracks = FaceTracks(24)
    raw, smooth = [], []
    for frame in shaken:
        (face,) = analyser.faces(frame)
        raw.append(face.landmarks)
        smooth.append(tracks.update([face])[0].landmarks)
    raw_steps = np.abs(np.diff(np.array(raw), axis=0)).mean()
    smooth_steps = np.abs(np.diff(np.array(smooth[12:]), axis=0)).mean()
    assert smooth_steps < 0.5 * raw_steps, (smooth_steps, raw_steps)

    pan = list(frames_from_still(astronaut, 48, size=(1920, 1080), motion="pan", stamp=False))
    tracks = FaceTracks(24)
    for frame in pan:
        (face,) = analyser.faces(frame)
        (used,) = tracks.update([face])
        width = float(face.box[2] - face.box[0])
        assert np.linalg.norm(used.landmarks - face.landmarks, axis=1).max() < 0.04 * width


def test_a_face_turning_around_the_limit_does_not_flip_every_frame():
    limits = PoseLimits(max_yaw=40, max_pitch=None, max_roll=60)
    tracks = FaceTracks(24, limits=limits, margin=8, smooth=False)
    yaws = [30, 39, 42, 39, 41, 38, 35, 31, 36, 39]
    kept = []
    for yaw in yaws:
        face = _face(project(yaw))
        out = tracks.update([face])
        beyond = bool(limits.violations(estimate_pose(face.landmarks)))
        kept.append("refused" if beyond else ("swapped" if out else "held"))
    # beyond 40°: the swapper passes it through; back inside, it waits until 32° before swapping again
    assert kept == ["swapped", "swapped", "refused", "held", "refused", "held", "held", "swapped", "swapped",
                    "swapped"]
    assert tracks.held_back == 3


def test_a_tracks_answer_depends_on_its_last_frames_only():
    rng = np.random.default_rng(1)
    shared = [_face(project(10) + rng.normal(0, 1.0, (5, 2))) for _ in range(HISTORY)]
    a, b = FaceTracks(24), FaceTracks(24)
    for _ in range(30):                       # different pasts: a long noisy one, and none
        a.update([_face(project(10) + rng.normal(0, 3.0, (5, 2)))])
    out_a = [a.update([f])[0] for f in shared]
    out_b = [b.update([f])[0] for f in shared]
    np.testing.assert_array_equal(out_a[-1].landmarks, out_b[-1].landmarks)


def test_two_faces_keep_their_own_tracks(analyser, t1):
    faces = analyser.faces(t1)
    tracks = FaceTracks(24)
    first = tracks.update(faces)
    second = tracks.update(list(reversed(faces)))           # order does not matter, boxes do
    by_box = {tuple(np.round(f.box, 0)): f for f in first}
    for face in second:
        match = min(by_box.values(), key=lambda f: float(np.abs(f.box - face.box).sum()))
        assert np.abs(match.landmarks - face.landmarks).max() < 1.0


def test_a_face_that_stays_between_the_limit_and_the_margin_stays_unswapped_however_long():
    """Refused at 45°, then held at 35° (inside the 40° limit, not back to 32°) for three seconds: never
    swapped again until it really comes back, not once its refusal is older than a window."""
    limits = PoseLimits(max_yaw=40, max_pitch=None, max_roll=60)
    tracks = FaceTracks(24, limits=limits, margin=8, smooth=False)
    tracks.update([_face(project(45))])           # beyond the limit: handed on, the swapper passes it through
    assert tracks.decided
    assert all(tracks.update([_face(project(35))]) == [] for _ in range(3 * 24))
    assert tracks.held_back == 3 * 24
    assert len(tracks.update([_face(project(30))])) == 1            # back 8° inside: swapped again


def test_a_track_first_seen_between_the_limit_and_the_margin_is_undecided_until_a_deciding_frame():
    """What a farm chunk's lead-in asks: a track that has only been seen at 35° might have been refused before
    the chunk's first decoded frame; one frame beyond the limit or well inside settles it."""
    limits = PoseLimits(max_yaw=40, max_pitch=None, max_roll=60)
    tracks = FaceTracks(24, limits=limits, margin=8, smooth=False)
    for _ in range(HISTORY * 2):
        tracks.update([_face(project(35))])
        assert not tracks.decided
    tracks.update([_face(project(20))])
    assert tracks.decided
    assert FaceTracks(24).decided and FaceTracks(24, limits=limits).decided   # no tracks / no limits: nothing to decide
