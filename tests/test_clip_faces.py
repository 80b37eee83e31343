"""Following faces between key frames: cheaper than a whole-frame pass, the same landmarks."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceright.engine.analysis import ClipFaceFinder
from faceright.engine.detect.base import shrink
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings

from clips import frames_from_still


@pytest.fixture(scope="module")
def analyser(tmp_path_factory):
    return Runtime(EngineSettings(models_dir=tmp_path_factory.mktemp("models"))).analyser()


def _pan(still, n=24, size=(1920, 1080)):
    return list(frames_from_still(still, n, size=size, motion="pan", stamp=False))


def test_faces_followed_between_key_frames_land_where_a_whole_frame_pass_puts_them(analyser, astronaut):
    frames = _pan(astronaut)
    finder = ClipFaceFinder(analyser, keyframe_interval=12)
    followed = [finder.faces(frame) for frame in frames]
    assert finder.key_frames == 2, "frames 0 and 12 are key frames, the rest are followed"
    for frame, faces in zip(frames, followed):
        assert len(faces) == 1
        full = analyser.faces(frame)[0]
        side = float(full.box[2] - full.box[0])
        # the same face: YuNet's own points move by a few % of the face when the picture shifts
        # by a pixel, so the two answers agree to that noise (the swap quality is checked below)
        distance = np.linalg.norm(faces[0].landmarks - full.landmarks, axis=1)
        assert distance.max() < 0.08 * side, (distance, side)


def test_a_face_that_leaves_is_noticed_at_once_and_a_new_face_at_the_next_key_frame(analyser, astronaut, grace_hopper):
    with_face = _pan(astronaut, n=3)
    empty = [np.full_like(with_face[0], 90)] * 2
    newcomer = list(frames_from_still(grace_hopper, 14, size=(1920, 1080), motion="still", stamp=False))
    finder = ClipFaceFinder(analyser, keyframe_interval=12)
    counts = [len(finder.faces(f)) for f in with_face + empty]
    assert counts == [1, 1, 1, 0, 0]
    # an empty picture has nothing to follow: every frame is a whole-frame pass until faces appear
    assert len(finder.faces(newcomer[0])) == 1
    assert finder.key_frames == 4


def test_every_frame_is_a_key_frame_with_interval_one(analyser, astronaut):
    finder = ClipFaceFinder(analyser, keyframe_interval=1)
    for frame in _pan(astronaut, n=4):
        finder.faces(frame)
    assert finder.key_frames == 4


def test_followed_faces_carry_no_embedding_so_identity_rules_decide_on_key_frames(analyser, astronaut):
    finder = ClipFaceFinder(analyser, keyframe_interval=12)
    frames = _pan(astronaut, n=3)
    first = finder.faces(frames[0], embed=True)
    second = finder.faces(frames[1], embed=True)
    assert first[0].embedding is not None and second[0].embedding is None


@pytest.mark.parametrize("size", [(256, 256), (300, 287), (640, 360), (438, 200)])
def test_shrink_matches_area_resampling_at_any_ratio(size, astronaut):
    image = cv2.resize(astronaut, (877, 913), interpolation=cv2.INTER_CUBIC)
    ours = shrink(image, size).astype(int)
    area = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(int)
    assert ours.shape == area.shape
    assert np.abs(ours - area).mean() < 2.0
    # and the picture sits where a direct resize puts it: a bright dot's centroid within a quarter pixel
    dot = np.zeros((913, 877, 3), np.uint8)
    cv2.circle(dot, (600, 300), 12, (255, 255, 255), -1)

    def centroid(image):
        weights = image[..., 0].astype(float)
        ys, xs = np.indices(weights.shape)
        return np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()

    area_dot = cv2.resize(dot, size, interpolation=cv2.INTER_AREA)
    assert np.abs(centroid(shrink(dot, size)) - centroid(area_dot)).max() < 0.25


def test_following_faces_swaps_as_well_as_a_whole_frame_pass_on_every_frame(tmp_path, grace_hopper):
    """The identity the output shows (SFace on the re-detected face) does not suffer from following."""
    from faceright.engine.demo import demo_files, demo_labels, write_demo_plate
    from faceright.engine.media import open_source
    from faceright.engine.jobs.swap import SwapRequest, swap_clip_unchecked as swap_clip
    from faceright.engine.types import cosine

    files = demo_files(tmp_path)
    write_demo_plate(files.plate, frames=24, size=(1280, 720))
    labels, _ = demo_labels(tmp_path)
    similarity = {}
    for interval in (1, 12):
        runtime = Runtime(EngineSettings(models_dir=tmp_path / "models", keyframe_interval=interval))
        out = tmp_path / f"every-{interval}.mp4"
        swap_clip(SwapRequest(plate=files.plate, donor=files.donor, output=out, labels=labels), runtime)
        analyser = runtime.analyser()
        donor = analyser.one_face(grace_hopper, what="donor")
        with open_source(out) as source:
            similarity[interval] = [cosine(analyser.one_face(frame, what="output").embedding, donor.embedding)
                                    for _, frame in source]
    assert min(similarity[12]) >= 0.45
    assert np.mean(similarity[12]) >= np.mean(similarity[1]) - 0.03, similarity
