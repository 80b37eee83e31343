"""Align, swap and paste back on the swapper's device: the GPU path's graphs, run here on the CPU provider,
against the CPU path (OpenCV's warps and paste-back) on real pictures."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from faceright.engine.align import ARCFACE_TEMPLATE
from faceright.engine.pipeline import SwapPipeline
from faceright.engine.runtime import CPU, Runtime
from faceright.engine.select import Selection
from faceright.engine.settings import EngineSettings
from faceright.engine.swap.inswapper import INPUT_SIZE, InSwapper, aligned_matrix
from faceright.engine.swap.masks import box_mask
from faceright.engine.swap.pasteback import mask_roi, paste_back
from faceright.engine.types import Donor, Patch

from onnx_builders import build_arcface, build_inswapper


def _landmarks(x, y, scale, angle):
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((ARCFACE_TEMPLATE - 56.0) @ rot.T * scale + [x, y]).astype(np.float32)


@pytest.fixture
def settings(tmp_path) -> EngineSettings:
    build_inswapper(tmp_path / "models" / "swapper.onnx")   # fixed batch 1, as inswapper_128
    build_arcface(tmp_path / "models" / "arcface.onnx")
    return EngineSettings(models_dir=tmp_path / "models", model_cache_dir=tmp_path / "cache", providers=(CPU,),
                          gpu_paste="on")


@pytest.fixture
def runtime(settings):
    runtime = Runtime(settings, io_binding=True)   # the GPU path's binding, on the CPU
    for name in ("swapper.onnx", "arcface.onnx"):
        runtime.catalog.add(settings.models_folder / name)
    return runtime


def test_the_align_graph_crops_as_opencv_does(runtime, astronaut):
    swapper = runtime.swapper()
    graphs = swapper.on_device
    frames = [np.ascontiguousarray(astronaut), np.ascontiguousarray(astronaut[::-1, ::-1])]   # two frames, one upload
    faces = [(0, aligned_matrix(_landmarks(250, 180, 2.2, 14), INPUT_SIZE)),
             (1, aligned_matrix(_landmarks(300, 200, 1.5, -8), INPUT_SIZE)),
             (0, aligned_matrix(_landmarks(20, 30, 3.0, -30), INPUT_SIZE))]        # over the frame's corner
    blob = graphs.crops(graphs.upload(np.stack(frames)), 2,
                        [(n, cv2.invertAffineTransform(m)) for n, m in faces]).numpy()
    assert blob.shape == (3, 3, INPUT_SIZE, INPUT_SIZE) and blob.dtype == np.float32
    from scipy.ndimage import map_coordinates

    v, u = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE].astype(np.float64)
    for got, (number, matrix) in zip(blob, faces):   # each face from its own frame, in the order asked
        frame = frames[number]
        # exact bilinear sampling with the border replicated (scipy), in RGB [0, 1]
        inverse = cv2.invertAffineTransform(matrix)
        x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
        y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
        exact = np.stack([map_coordinates(frame[..., c].astype(np.float64), [y, x], order=1, mode="nearest")
                          for c in (2, 1, 0)]) / 255.0
        assert np.abs(got - exact).max() < 1e-4
        # OpenCV's crop (the CPU path) places samples on a 1/32-pixel grid: a few levels on sharp edges
        cpu = cv2.warpAffine(frame, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)[..., ::-1].transpose(2, 0, 1) / 255.0
        assert np.abs(got - cpu).mean() < 0.5 / 255 and np.abs(got - cpu).max() < 6 / 255


def test_the_paste_graph_blends_as_paste_back_does_and_leaves_every_other_pixel_alone(runtime, astronaut):
    graphs = runtime.swapper().on_device
    frame = np.ascontiguousarray(astronaut)
    matrix = aligned_matrix(_landmarks(260, 190, 2.4, 21), INPUT_SIZE)
    face_rgb = np.random.default_rng(5).random((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    mask = box_mask(INPUT_SIZE)
    other = np.random.default_rng(6).random((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    faces = np.concatenate([other, face_rgb])                      # face 1 of 2, into frame 1 of 2
    out = graphs.pasted(graphs.upload(np.stack([frame[::-1].copy(), frame])), 1, faces, 1, mask, matrix,
                        mask_roi(mask, matrix, frame.shape), to_host=True)
    assert out.shape == (1, *frame.shape)
    out = out[0]
    crop = np.clip(np.rint(face_rgb[0].transpose(1, 2, 0)[..., ::-1] * 255), 0, 255).astype(np.uint8)
    expected = paste_back(frame, [Patch(crop=crop, matrix=matrix, mask=mask)])
    assert out.shape == frame.shape and out.dtype == np.uint8
    changed = (expected != frame).any(axis=2)
    assert changed.sum() > 5000                                    # a face's worth of pixels
    # exact bilinear sampling (scipy): the face with its border replicated, the mask with zeros around it
    from scipy.ndimage import map_coordinates

    y, x = np.mgrid[0:frame.shape[0], 0:frame.shape[1]].astype(np.float64)
    u = matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]
    v = matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]
    face = np.stack([map_coordinates(face_rgb[0, c].astype(np.float64), [v, u], order=1, mode="nearest")
                     for c in (2, 1, 0)], axis=-1) * 255.0
    alpha = map_coordinates(mask.astype(np.float64), [v, u], order=1, mode="constant", cval=0.0)[..., None]
    exact = np.where(alpha > 0, np.clip(np.rint(frame + (face - frame) * alpha), 0, 255), frame)
    assert np.abs(out.astype(int) - exact).max() <= 1                # float32 against float64 at a .5
    # OpenCV's paste-back (the CPU path) samples on a 1/32-pixel grid: a noise face differs by a few levels
    assert np.abs(out.astype(int) - expected)[changed].mean() < 1.0
    support = cv2.warpAffine(np.ones((INPUT_SIZE, INPUT_SIZE), np.float32), matrix, frame.shape[1::-1],
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0) > 0
    assert np.array_equal(out[~support], frame[~support])          # outside the crop: the frame, exactly


@pytest.mark.parametrize("where", [(20, 25, -35), (500, 490, 10)], ids=["top-left corner", "bottom-right corner"])
def test_a_face_over_the_frames_edge_is_pasted_where_it_lies_and_one_off_the_frame_changes_nothing(runtime, astronaut,
                                                                                                  where):
    """The paste works on the face's region only: a region against the frame's edges (nothing left of or
    above it, or right of or below it) comes back in place, as the CPU's paste-back puts it."""
    swapper = runtime.swapper()
    graphs = swapper.on_device
    frame = np.ascontiguousarray(astronaut)
    x, y, angle = where
    matrix = aligned_matrix(_landmarks(x, y, 2.0, angle), INPUT_SIZE)
    session = swapper.session
    latent = np.zeros((1, 512), np.float32)
    latent[0, :3] = 0.2
    out = graphs.swap(frame, [matrix], session, swapper.mask, latent=latent, names=("target", "source", "output"))
    # the CPU path on the same matrix: OpenCV's crop, the model, paste-back
    crop = cv2.warpAffine(frame, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    (swapped,) = session.run(["output"], {"target": crop[None, ..., ::-1].transpose(0, 3, 1, 2) / np.float32(255),
                                          "source": latent})
    face = np.clip(np.rint(swapped[0].transpose(1, 2, 0)[..., ::-1] * 255), 0, 255).astype(np.uint8)
    cpu = paste_back(frame, [Patch(crop=face, matrix=matrix, mask=swapper.mask)])
    assert out.shape == frame.shape
    changed = (cpu != frame).any(axis=2)
    assert changed.sum() > 1000
    assert np.abs(out.astype(int) - cpu).max() <= 4 and ((out != frame).any(axis=2) != changed).mean() < 0.002
    off = aligned_matrix(_landmarks(-400, -400, 1.0, 0), INPUT_SIZE)        # wholly outside the frame
    assert graphs.swap(frame, [off], session, swapper.mask, latent=latent, names=("target", "source", "output")) \
        is frame


def test_a_frame_swapped_on_the_device_is_the_cpu_paths_frame(runtime, astronaut, grace_hopper):
    analyser = runtime.analyser()
    swapper = runtime.swapper()
    assert isinstance(swapper, InSwapper) and swapper.on_device is not None and swapper.session.fixed is not None
    prepared = swapper.prepare(Donor(grace_hopper, analyser.one_face(grace_hopper, what="donor")))
    frame = np.ascontiguousarray(astronaut)
    faces = analyser.faces(frame)
    ((on_device, count),) = swapper.swap_frames([(frame, faces)], prepared)
    cpu = paste_back(frame, swapper.patches(frame, faces, prepared))
    assert count == len(faces) == 1
    assert (cpu != frame).any(axis=2).sum() > 2000
    # the CPU path rounds the crop to 8 bits and samples on OpenCV's 1/32-pixel grid; the device does neither
    difference = np.abs(on_device.astype(int) - cpu)
    assert difference.max() <= 4 and difference[(cpu != frame).any(axis=2)].mean() < 0.5
    assert np.array_equal(on_device[(cpu == frame).all(axis=2) & (on_device == frame).all(axis=2)],
                          frame[(cpu == frame).all(axis=2) & (on_device == frame).all(axis=2)])
    assert ((on_device != frame).any(axis=2) != (cpu != frame).any(axis=2)).mean() < 0.002


def test_the_pipeline_pastes_on_the_device_unless_the_writer_needs_the_faces_weights(runtime, astronaut,
                                                                                    grace_hopper):
    analyser = runtime.analyser()
    swapper = runtime.swapper()
    donor = Donor(grace_hopper, analyser.one_face(grace_hopper, what="donor"))
    used = []
    real = swapper.swap_frames
    swapper.swap_frames = lambda items, prepared: used.append(len(items)) or real(items, prepared)
    frames = [(i, np.ascontiguousarray(astronaut)) for i in range(3)]
    got, weights = {}, {}
    pipeline = SwapPipeline(analyser.faces, swapper, donor, Selection("largest"), queue_size=2)
    stats = pipeline.run(iter(frames), lambda i, f: got.__setitem__(i, f))
    assert sum(used) == 3 and stats.faces_swapped == 3 and not np.array_equal(got[0], astronaut)
    used.clear()
    pipeline.run(iter(frames), lambda i, f, alpha: weights.__setitem__(i, alpha), with_alpha=True)
    assert used == [] and all(w is not None and w.max() > 0.9 for w in weights.values())


def test_gpu_paste_follows_the_setting(settings):
    for mode, expected in (("off", False), ("auto", False), ("on", True)):   # auto: only with GPU sessions
        runtime = Runtime(replace(settings, gpu_paste=mode), io_binding=True)
        runtime.catalog.add(settings.models_folder / "swapper.onnx")
        assert (runtime.swapper().on_device is not None) is expected, mode
    assert Runtime(settings).swapper(pixel_boost=256).on_device is None   # boosted crops: the CPU's paste-back
    # the graphs were built once and kept: a later process makes its sessions without onnx
    assert sorted(p.name for p in (settings.model_cache_folder / "device-graphs").iterdir()) == \
        ["align-128-v3.onnx", "paste-128-v3.onnx"]


def test_the_faces_of_several_frames_go_through_a_dynamic_batch_swapper_together(tmp_path, astronaut, grace_hopper,
                                                                                t1_path):
    """A model whose batch axis is dynamic takes the faces of the pipeline's whole batch of frames in as few
    calls as its batch size allows (one face a call otherwise); the frames are those of one frame at a time."""
    build_inswapper(tmp_path / "models" / "swapper.onnx", dynamic_batch=True)
    build_arcface(tmp_path / "models" / "arcface.onnx")
    settings = EngineSettings(models_dir=tmp_path / "models", model_cache_dir=tmp_path / "cache", providers=(CPU,),
                              gpu_paste="on")
    runtime = Runtime(settings, io_binding=True)
    for name in ("swapper.onnx", "arcface.onnx"):
        runtime.catalog.add(settings.models_folder / name)
    analyser = runtime.analyser()
    swapper = runtime.swapper()
    assert swapper.fixed_batch is None and swapper.on_device is not None and swapper.session.fixed is None
    prepared = swapper.prepare(Donor(grace_hopper, analyser.one_face(grace_hopper, what="donor")))
    group = np.ascontiguousarray(cv2.imread(str(t1_path)))
    frames = [np.ascontiguousarray(astronaut), np.ascontiguousarray(astronaut[:, ::-1])]
    items = [(frame, analyser.faces(frame)) for frame in frames]
    faces = sum(len(targets) for _, targets in items)
    calls = []
    real = swapper.session.run_bound

    def counted(feeds, *args, **kwargs):
        target = feeds["target"]
        calls.append((target.shape() if callable(target.shape) else target.shape)[0])   # an OrtValue or numpy
        return real(feeds, *args, **kwargs)

    swapper.session.run_bound = counted

    together = swapper.swap_frames(items, prepared)
    assert calls == [faces] == [2]
    calls.clear()
    alone = [swapper.swap_frames([item], prepared)[0] for item in items]
    assert calls == [1, 1]
    for (a, count_a), (b, count_b), (frame, targets) in zip(together, alone, items):
        assert count_a == count_b == len(targets) and np.array_equal(a, b) and not np.array_equal(a, frame)
    # frames of another size in another batch, more faces than a call takes: in chunks of batch_size
    calls.clear()
    swapper.batch_size = 4
    group_faces = analyser.faces(group)
    assert len(group_faces) == 6
    (first, _), (chunked, count) = swapper.swap_frames([items[0], (group, group_faces)], prepared)
    assert calls == [1, 4, 2] and count == 6 and np.array_equal(first, alone[0][0])   # sizes never mixed
    cpu = paste_back(group, swapper.patches(group, group_faces, prepared))
    assert np.abs(chunked.astype(int) - cpu).max() <= 4 and (chunked != group).any(axis=2).sum() > 5000
