"""InSwapper on a model built like inswapper_128: the latent formula, the known output, batching, pixel boost.

The stand-in model (tests/onnx_builders.py) computes ``clip(1 - target + source[:, c], 0, 1)``
per RGB channel c, so a test knows exactly what each output pixel must be: the aligned crop,
inverted, shifted per channel by the first three components of the latent.
"""
from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from insightface.utils import face_align

from faceright.engine.swap import SWAPPERS, InSwapper, paste_back
from faceright.engine.swap.inswapper import read_emap
from faceright.engine.swap.pasteback import warp_patch
from faceright.engine.types import Donor, Face
from faceright.errors import ConfigError, ModelError, NoFaceError

from onnx_builders import build_arcface, build_inswapper, build_stub, inswapper_expected, inswapper_latent

# faces of insightface's t1.jpg as faceright's YuNet finds them at native resolution (landmarks, box)
T1_FACES = [
    ([[488.5, 323.6], [539.9, 329.7], [507.0, 354.7], [484.1, 372.6], [528.9, 379.2]], [465, 266, 566, 410]),
    ([[767.1, 402.2], [809.5, 403.9], [776.9, 428.2], [768.9, 446.4], [805.6, 447.5]], [748, 353, 846, 475]),
    ([[1143.3, 321.8], [1190.1, 319.8], [1160.8, 340.6], [1149.5, 363.7], [1190.1, 362.7]], [1125, 272, 1220, 395]),
]


def face(landmarks, box=(0, 0, 1, 1), embedding=None) -> Face:
    return Face(box=np.asarray(box, np.float32), score=0.9, landmarks=np.asarray(landmarks, np.float32),
                embedding=None if embedding is None else np.asarray(embedding, np.float32))


def donor(seed: int, dim: int = 512) -> Donor:
    embedding = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return Donor(image=np.zeros((8, 8, 3), np.uint8), face=face(T1_FACES[0][0], embedding=embedding))


class CountingSession:
    """An InferenceSession that counts its run() calls and the rows each one got."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[int] = []

    def get_inputs(self):
        return self.inner.get_inputs()

    def get_outputs(self):
        return self.inner.get_outputs()

    def run(self, names, feeds, run_options=None):
        self.calls.append(next(iter(feeds.values())).shape[0])
        return self.inner.run(names, feeds, run_options)


def session(path) -> CountingSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the unused emap initializer is expected
    return CountingSession(ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]))


@pytest.fixture(scope="module")
def fixed_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("inswapper") / "inswapper_128.onnx"
    return path, build_inswapper(path, seed=3)


@pytest.fixture(scope="module")
def dynamic_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("inswapper") / "inswapper_dyn.onnx"
    return path, build_inswapper(path, seed=3, dynamic_batch=True)


def insightface_matrix(landmarks, size=128) -> np.ndarray:
    """insightface's alignment for inswapper (the 112 template shifted 8 px at 128), scaled for pixel boost."""
    return face_align.estimate_norm(np.asarray(landmarks, np.float32), 128) * (size / 128)


def expected_crop(frame, landmarks, latent, size=128) -> np.ndarray:
    """The oracle: the frame aligned by insightface's matrix, the model's known function, back to BGR uint8."""
    aligned = cv2.warpAffine(frame, insightface_matrix(landmarks, size), (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
    blob = (aligned[..., ::-1].astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    out = inswapper_expected(blob, latent)[0].transpose(1, 2, 0)
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)[..., ::-1]


def test_the_registry_names_both_backends():
    assert SWAPPERS["inswapper"] is InSwapper
    assert SWAPPERS["classic"].model_id == "classic"


def test_the_inswapper_signature_is_recognised_and_others_are_not(fixed_model, dynamic_model, tmp_path):
    for path, _ in (fixed_model, dynamic_model):
        s = session(path)
        assert InSwapper.matches(s.get_inputs(), s.get_outputs())
    build_arcface(tmp_path / "arcface.onnx")
    arc = session(tmp_path / "arcface.onnx")
    assert not InSwapper.matches(arc.get_inputs(), arc.get_outputs())
    assert InSwapper.matches([[1, 3, 128, 128], [1, 512]], [[1, 3, 128, 128]])
    assert not InSwapper.matches([[1, 3, 256, 256], [1, 512]], [[1, 3, 256, 256]])   # not a 128 model
    assert not InSwapper.matches([[1, 3, 128, 128], [1, 256]], [[1, 3, 128, 128]])   # latent not 512
    assert not InSwapper.matches([[1, 3, 128, 128]], [[1, 3, 128, 128]])
    with pytest.raises(ModelError, match="does not have the inswapper signature"):
        InSwapper(arc, model_id="arcface", emap=np.eye(512, dtype=np.float32))


def test_the_emap_is_read_from_the_models_last_initializer(fixed_model, tmp_path):
    path, emap = fixed_model
    assert np.array_equal(read_emap(path), emap)
    stub = build_stub(tmp_path / "no_emap.onnx", {"a": [1, 3, 128, 128], "b": [1, 512]}, {"o": [1, 3, 128, 128]},
                      initializers={"last": np.zeros((3, 5), np.float32)})
    with pytest.raises(ModelError, match="not a square emap"):
        read_emap(stub)


def test_the_latent_is_the_normalised_embedding_times_emap_renormalised(fixed_model):
    path, emap = fixed_model
    swapper = InSwapper(session(path), model_id="inswapper", emap=emap)
    d = donor(1)
    latent = swapper.prepare(d).latent
    e = d.face.embedding.astype(np.float64)
    by_hand = (e / np.linalg.norm(e)) @ emap.astype(np.float64)
    by_hand /= np.linalg.norm(by_hand)
    assert latent.shape == (1, 512) and latent.dtype == np.float32
    np.testing.assert_allclose(latent[0], by_hand, atol=1e-6)
    np.testing.assert_allclose(latent, inswapper_latent(d.face.embedding, emap), atol=1e-6)
    assert np.linalg.norm(latent) == pytest.approx(1.0, abs=1e-6)
    # the embedding's scale does not matter; its direction does
    scaled = Donor(d.image, d.face.with_embedding(d.face.embedding * 7.0))
    np.testing.assert_allclose(swapper.prepare(scaled).latent, latent, atol=1e-6)
    assert np.abs(swapper.prepare(donor(2)).latent - latent).max() > 0.01


def test_patches_are_the_models_known_function_of_the_aligned_target(fixed_model, t1):
    path, emap = fixed_model
    swapper = InSwapper(session(path), model_id="inswapper", emap=emap)
    prepared = swapper.prepare(donor(1))
    landmarks, box = T1_FACES[0]
    (patch,) = swapper.patches(t1, [face(landmarks, box)], prepared)
    np.testing.assert_allclose(patch.matrix, insightface_matrix(landmarks), atol=1e-3)
    assert patch.crop.shape == (128, 128, 3) and patch.crop.dtype == np.uint8 and patch.mask.shape == (128, 128)
    diff = np.abs(patch.crop.astype(int) - expected_crop(t1, landmarks, prepared.latent).astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.05  # the two matrices agree to 1e-3, not to the bit
    # and insightface's own aligned crop, inverted, is what came out
    theirs = face_align.norm_crop(t1, np.asarray(landmarks, np.float32), 128)
    assert np.abs((255 - patch.crop.astype(int)) - theirs.astype(int)).mean() < 12  # ±11 levels of latent shift


def test_pasted_pixels_follow_the_known_function_and_nothing_else_moves(fixed_model, t1):
    path, emap = fixed_model
    swapper = InSwapper(session(path), model_id="inswapper", emap=emap)
    prepared = swapper.prepare(donor(1))
    landmarks, box = T1_FACES[1]
    (patch,) = swapper.patches(t1, [face(landmarks, box)], prepared)
    out = paste_back(t1, [patch])
    warped = warp_patch(patch, t1.shape)
    x0, y0, x1, y1 = warped.roi
    outside = np.ones(t1.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], t1[outside])
    zero = warped.alpha == 0
    assert np.array_equal(out[y0:y1, x0:x1][zero], t1[y0:y1, x0:x1][zero])
    # the model's function is per pixel, so in frame space it is the same inversion + channel shift
    full = warped.alpha > 0.999
    assert full.sum() > 1500
    shift = np.rint(prepared.latent[0, :3][::-1] * 255)  # RGB components → BGR channels
    plate = t1[y0:y1, x0:x1][full].astype(np.float64)
    want = np.clip(255.0 - plate + shift, 0, 255)
    got = out[y0:y1, x0:x1][full].astype(np.float64)
    assert np.median(np.abs(got - want)) <= 2.0  # two bilinear resamplings in between


def test_two_donors_give_outputs_that_each_match_their_own_latent(fixed_model, t1):
    path, emap = fixed_model
    swapper = InSwapper(session(path), model_id="inswapper", emap=emap)
    landmarks, box = T1_FACES[2]
    a, b = swapper.prepare(donor(1)), swapper.prepare(donor(2))
    (pa,), (pb,) = swapper.patches(t1, [face(landmarks, box)], a), swapper.patches(t1, [face(landmarks, box)], b)
    assert not np.array_equal(pa.crop, pb.crop)
    for patch, mine, other in ((pa, a, b), (pb, b, a)):
        assert np.abs(patch.crop.astype(int) - expected_crop(t1, landmarks, mine.latent).astype(int)).mean() < 0.05
        assert np.abs(patch.crop.astype(int) - expected_crop(t1, landmarks, other.latent).astype(int)).mean() > 2


def test_a_dynamic_batch_model_swaps_all_faces_of_several_frames_in_one_call(dynamic_model, fixed_model, t1, astronaut):
    path, emap = dynamic_model
    dynamic = InSwapper(session(path), model_id="dyn", emap=emap, batch_size=8)
    prepared = dynamic.prepare(donor(1))
    t1_faces = [face(lm, box) for lm, box in T1_FACES]
    astronaut_face = face([[201.6, 105.5], [245.3, 104.9], [221.0, 127.2], [204.1, 145.4], [242.4, 145.4]],
                          [178, 63, 269, 173])
    batched = dynamic.patches_batch([(t1, t1_faces), (astronaut, [astronaut_face]), (astronaut, [])], prepared)
    assert dynamic.session.calls == [4]
    assert [len(row) for row in batched] == [3, 1, 0]
    singles = [[dynamic.patches(t1, [f], prepared)[0] for f in t1_faces], [dynamic.patches(astronaut, [astronaut_face], prepared)[0]]]
    for row, single_row in zip(batched, singles):
        for got, want in zip(row, single_row):
            assert np.array_equal(got.crop, want.crop) and np.array_equal(got.matrix, want.matrix)
    # chunks of batch_size when there are more faces than that
    small = InSwapper(session(path), model_id="dyn", emap=emap, batch_size=2)
    again = small.patches_batch([(t1, t1_faces), (astronaut, [astronaut_face])], prepared)
    assert small.session.calls == [2, 2]
    assert all(np.array_equal(g.crop, w.crop) for g, w in zip(again[0] + again[1], batched[0] + batched[1]))
    # a model fixed at batch 1 loops, one face per call, with the same results
    fixed_path, fixed_emap = fixed_model
    assert np.array_equal(fixed_emap, emap)  # same seed
    fixed = InSwapper(session(fixed_path), model_id="fixed", emap=fixed_emap)
    looped = fixed.patches_batch([(t1, t1_faces), (astronaut, [astronaut_face])], prepared)
    assert fixed.session.calls == [1, 1, 1, 1]
    assert all(np.array_equal(g.crop, w.crop) for g, w in zip(looped[0] + looped[1], batched[0] + batched[1]))


def test_no_faces_means_no_session_call(dynamic_model, t1):
    path, emap = dynamic_model
    swapper = InSwapper(session(path), model_id="dyn", emap=emap)
    assert swapper.patches(t1, [], swapper.prepare(donor(1))) == []
    assert swapper.session.calls == []


def test_pixel_boost_swaps_interleaved_sub_crops_and_weaves_them_back(dynamic_model, t1):
    path, emap = dynamic_model
    swapper = InSwapper(session(path), model_id="dyn", emap=emap, pixel_boost=256)
    prepared = swapper.prepare(donor(1))
    landmarks, box = T1_FACES[0]
    (patch,) = swapper.patches(t1, [face(landmarks, box)], prepared)
    assert swapper.session.calls == [4]  # (256 / 128)² sub-crops
    assert patch.crop.shape == (256, 256, 3) and patch.mask.shape == (256, 256)
    # the model is per pixel, so the woven result is the function applied to the 256 aligned crop
    np.testing.assert_allclose(patch.matrix, insightface_matrix(landmarks, 256), atol=2e-3)
    diff = np.abs(patch.crop.astype(int) - expected_crop(t1, landmarks, prepared.latent, size=256).astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.05


def test_a_donor_without_a_512_d_embedding_is_refused_with_a_clear_error(fixed_model):
    path, emap = fixed_model
    swapper = InSwapper(session(path), model_id="inswapper", emap=emap)
    with pytest.raises(ModelError, match="512-d ArcFace embedding.*128-d"):
        swapper.prepare(donor(1, dim=128))
    no_embedding = Donor(np.zeros((8, 8, 3), np.uint8), face(T1_FACES[0][0]))
    with pytest.raises(NoFaceError, match="no embedding"):
        swapper.prepare(no_embedding)
    with pytest.raises(TypeError, match="its own prepare"):
        swapper.patches(np.zeros((64, 64, 3), np.uint8), [], object())


def test_bad_options_and_emaps_are_refused(fixed_model):
    path, emap = fixed_model
    with pytest.raises(ConfigError, match="unknown inswapper option.*blend"):
        InSwapper(session(path), model_id="x", emap=emap, blend=0.5)
    with pytest.raises(ConfigError, match="pixel_boost"):
        InSwapper(session(path), model_id="x", emap=emap, pixel_boost=200)
    with pytest.raises(ConfigError, match="mask"):
        InSwapper(session(path), model_id="x", emap=emap, mask="oval")
    with pytest.raises(ModelError, match="emap must be 512×512"):
        InSwapper(session(path), model_id="x", emap=np.eye(128, dtype=np.float32))


def build_fp16_inswapper(path) -> np.ndarray:
    """inswapper's function with float16 inputs and output (as fp16 exports have), emap last."""
    from onnx import TensorProto, helper, numpy_helper

    emap = np.eye(512, dtype=np.float32)
    nodes = [
        helper.make_node("Cast", ["target"], ["t32"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["source"], ["s32"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "t32"], ["inverted"]),
        helper.make_node("Slice", ["s32", "start", "end", "axis"], ["rgb"]),
        helper.make_node("Reshape", ["rgb", "shape"], ["rgb4"]),
        helper.make_node("Add", ["inverted", "rgb4"], ["shifted"]),
        helper.make_node("Clip", ["shifted", "zero", "one"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["output"], to=TensorProto.FLOAT16),
    ]
    inits = [numpy_helper.from_array(np.array(v, dtype=d), n) for n, v, d in (
        ("one", 1.0, np.float32), ("zero", 0.0, np.float32), ("start", [0], np.int64), ("end", [3], np.int64),
        ("axis", [1], np.int64), ("shape", [-1, 3, 1, 1], np.int64))] + [numpy_helper.from_array(emap, "emap")]
    graph = helper.make_graph(
        nodes, "inswapper_fp16",
        [helper.make_tensor_value_info("target", TensorProto.FLOAT16, ["batch", 3, 128, 128]),
         helper.make_tensor_value_info("source", TensorProto.FLOAT16, ["batch", 512])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT16, ["batch", 3, 128, 128])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    import onnx

    onnx.save(model, str(path))
    return emap


def test_an_fp16_export_gets_half_precision_inputs_and_the_same_answer(tmp_path, t1, fixed_model):
    emap = build_fp16_inswapper(tmp_path / "fp16.onnx")
    half = InSwapper(session(tmp_path / "fp16.onnx"), model_id="fp16", emap=emap)
    prepared = half.prepare(donor(1))
    landmarks, box = T1_FACES[0]
    (patch,) = half.patches(t1, [face(landmarks, box)], prepared)
    diff = np.abs(patch.crop.astype(int) - expected_crop(t1, landmarks, prepared.latent).astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.3  # float16 holds 8-bit levels to about half a level
