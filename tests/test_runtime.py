"""The runtime: providers in order, one session per model and device, io-binding, batching, backends."""
from __future__ import annotations

import logging
import shutil
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import onnxruntime
import pytest

from faceright.engine import runtime as runtime_module
from faceright.engine.models.catalog import Catalog
from faceright.engine.models.errors import ModelRoleError
from faceright.engine.runtime import (
    CPU,
    CUDA,
    TENSORRT,
    OnnxruntimeConflictError,
    Runtime,
    Session,
    import_onnxruntime,
    resolve_providers,
)
from faceright.engine.settings import EngineSettings
from faceright.errors import ConfigError, DependencyMissingError

from onnx_builders import arcface_expected, build_arcface, build_inswapper, build_scrfd, inswapper_expected


def register(path):
    """Register a built model as a TD would (`faceright models add`): an unregistered file never beats a
    verified one of its kind."""
    Catalog(path.parent).add(path)

ALL = [TENSORRT, CUDA, CPU]


@pytest.fixture
def settings(tmp_path) -> EngineSettings:
    return EngineSettings(models_dir=tmp_path / "models", trt_cache_dir=tmp_path / "trt", batch_size=3)


def fake_ort(available):
    """The real onnxruntime, except for which providers it says it has."""
    fake = types.SimpleNamespace(**{k: getattr(onnxruntime, k) for k in dir(onnxruntime) if not k.startswith("__")})
    fake.__version__ = onnxruntime.__version__
    fake.get_available_providers = lambda: list(available)
    return fake


# -- providers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "configured, available, expected",
    [
        (ALL, ALL, ALL),
        ([CPU, CUDA, TENSORRT], ALL, ALL),                          # faceright's order, whatever the config's
        (ALL, [CUDA, CPU], [CUDA, CPU]),                            # only what onnxruntime offers
        (ALL, ["AzureExecutionProvider", CPU], [CPU]),
        ([CUDA], ALL, [CUDA, CPU]),                                 # CPU always last, as the fallback
        ([TENSORRT, "ROCMExecutionProvider", CPU], ["ROCMExecutionProvider", TENSORRT, CPU],
         [TENSORRT, "ROCMExecutionProvider", CPU]),
    ],
)
def test_providers_are_filtered_to_the_available_ones_in_tensorrt_cuda_cpu_order(configured, available, expected,
                                                                                  settings):
    chosen = resolve_providers(replace(settings, providers=tuple(configured)), available, "1.32.0")
    assert [name for name, _ in chosen] == expected


def test_provider_options_follow_the_settings(settings, tmp_path):
    chosen = dict(resolve_providers(replace(settings, device_id=1, fp16=False), ALL, "1.32.0"))
    trt, cuda = chosen[TENSORRT], chosen[CUDA]
    assert trt["device_id"] == 1 and trt["trt_fp16_enable"] is False
    assert trt["trt_engine_cache_enable"] and trt["trt_timing_cache_enable"]
    assert trt["trt_engine_cache_path"] == trt["trt_timing_cache_path"] == str(tmp_path / "trt" / "ort-1.32.0")
    assert cuda == {"device_id": 1, "cudnn_conv_algo_search": "EXHAUSTIVE"}
    assert chosen[CPU] == {}
    assert dict(resolve_providers(settings, ALL, "x"))[TENSORRT]["trt_fp16_enable"] is True


def test_a_misspelt_provider_is_a_config_error(settings):
    with pytest.raises(ConfigError, match="cuda"):
        resolve_providers(replace(settings, providers=("cuda", CPU)), ALL)


def test_runtime_providers_use_what_this_onnxruntime_offers(settings):
    runtime = Runtime(settings, ort=fake_ort([CUDA, CPU]))
    assert [n for n, _ in runtime.providers()] == [CUDA, CPU]
    assert [n for n, _ in runtime.providers([CPU])] == [CPU]


# -- onnxruntime import ----------------------------------------------------------------------------


def test_missing_onnxruntime_says_which_extra_to_install(monkeypatch):
    monkeypatch.setattr(runtime_module, "installed_onnxruntime", lambda: [])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(DependencyMissingError, match=r"faceright\[cpu\].*faceright\[gpu\]"):
        import_onnxruntime()


def test_two_onnxruntime_distributions_are_refused_naming_both(monkeypatch):
    monkeypatch.setattr(runtime_module, "installed_onnxruntime",
                        lambda: [("onnxruntime", "1.32.0"), ("onnxruntime-gpu", "1.32.0")])
    with pytest.raises(OnnxruntimeConflictError, match="onnxruntime 1.32.0, onnxruntime-gpu 1.32.0") as caught:
        import_onnxruntime()
    assert "pip uninstall onnxruntime onnxruntime-gpu" in str(caught.value)


def test_this_machine_has_exactly_one_onnxruntime_distribution():
    assert len(runtime_module.installed_onnxruntime()) == 1
    assert import_onnxruntime() is onnxruntime


# -- sessions -------------------------------------------------------------------------------------


def test_sessions_follow_the_thread_plan(settings):
    """engine/threads.py: idle onnxruntime threads sleep (they would burn the codecs' CPU), and
    intra-op threads are onnxruntime's default unless configured."""
    default = Runtime(settings).session(Runtime(settings).catalog.find("detector")).inner.get_session_options()
    assert default.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert default.intra_op_num_threads == 0
    tuned = replace(settings, intra_op_threads=1, ort_spinning=True)
    options = Runtime(tuned).session(Runtime(tuned).catalog.find("detector")).inner.get_session_options()
    assert options.intra_op_num_threads == 1
    with pytest.raises(RuntimeError, match="does not have configuration"):   # left to onnxruntime: no entry
        options.get_session_config_entry("session.intra_op.allow_spinning")


def test_one_session_per_model_and_device_is_reused(settings, tmp_path):
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    shutil.copyfile(settings.models_folder / "rec.onnx", settings.models_folder / "same-bytes.onnx")
    runtime = Runtime(settings)
    rec, twin = runtime.catalog.find("recogniser", "rec"), runtime.catalog.find("recogniser", "same-bytes")
    first = runtime.session(rec)
    assert runtime.session(rec) is first
    assert runtime.session(twin) is first          # same sha256, same device, same providers
    assert runtime.session_count == 1
    assert runtime.load(rec).session is first      # backends share it too
    assert runtime.session(runtime.catalog.find("detector")) is not first
    assert runtime.session_count == 2
    assert Runtime(settings).session(rec) is not first  # nothing shared between runtimes
    runtime.close()
    assert runtime.session_count == 0 and runtime.session(rec) is not first



def test_two_threads_make_two_models_sessions_at_once_and_one_models_session_once(settings):
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    fake, made = fake_ort([CPU]), []
    real = onnxruntime.InferenceSession
    both_inside = threading.Barrier(2, timeout=10)   # broken (an error) when one waits for the other

    def session(source, sess_options=None, providers=None, provider_options=None):
        made.append(threading.current_thread().name)
        if len(made) <= 2:
            both_inside.wait()
        return real(source, sess_options=sess_options, providers=providers)

    fake.InferenceSession = session
    runtime = Runtime(settings, ort=fake)
    rec, det = runtime.catalog.find("recogniser", "rec"), runtime.catalog.find("detector")
    with ThreadPoolExecutor(2) as pool:
        made_at_once = [pool.submit(runtime.session, m) for m in (rec, det)]
        sessions = [f.result() for f in made_at_once]
    assert len(made) == 2 and sessions[0] is not sessions[1]
    made.clear()
    runtime.close()
    with ThreadPoolExecutor(2) as pool:     # the same model asked twice at once: made once, shared
        both_inside = threading.Barrier(1)
        twice = [f.result() for f in [pool.submit(runtime.session, rec) for _ in range(2)]]
    assert len(made) == 1 and twice[0] is twice[1] and runtime.session_count == 1

def test_other_providers_get_another_session(settings, caplog):
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    runtime = Runtime(settings, ort=fake_ort(ALL))
    rec = runtime.catalog.find("recogniser")
    cpu_only = runtime.session(rec, providers=[CPU])
    if CUDA not in onnxruntime.get_available_providers():
        # a CPU build of onnxruntime, which the runtime was told has GPU providers: it falls back to CPU, and says so
        with caplog.at_level(logging.WARNING, logger="faceright.engine.runtime"), \
                pytest.warns(UserWarning, match="not in available provider names"):
            asked_gpu = runtime.session(rec)
        assert asked_gpu.get_providers() == [CPU] and asked_gpu.device == "cpu" and not asked_gpu.io_binding
        assert "runs on CPU" in caplog.text
    else:
        # onnxruntime-gpu: the session is on the GPU when onnxruntime could start a GPU provider, on CPU (said) if not
        with caplog.at_level(logging.WARNING, logger="faceright.engine.runtime"):
            asked_gpu = runtime.session(rec)
        used = asked_gpu.get_providers()
        on_gpu = CUDA in used or TENSORRT in used
        assert used[-1] == CPU and asked_gpu.device == ("cuda" if on_gpu else "cpu") and asked_gpu.io_binding == on_gpu
        assert on_gpu or "runs on CPU" in caplog.text
    assert asked_gpu is not cpu_only and runtime.session_count == 2
    assert (settings.trt_cache_folder / f"ort-{onnxruntime.__version__}").is_dir()


def test_shipped_models_run_after_the_fixups(settings, t1):
    runtime = Runtime(settings)
    analyser = runtime.analyser()
    faces = analyser.faces(t1, embed=True)
    assert len(faces) == 6
    assert all(f.embedding.shape == (128,) and abs(np.linalg.norm(f.embedding) - 1) < 1e-4 for f in faces)
    assert analyser.recogniser.model_id == "sface:fb143eea0783"
    assert runtime.session_count == 2


# -- io binding -----------------------------------------------------------------------------------


def _sessions(runtime, model):
    plain = runtime.session(model)
    bound = Session(plain.inner, ort=onnxruntime, device="cpu", io_binding=True, name="bound")
    return plain, bound


def test_io_binding_gives_what_plain_run_gives_on_cpu(settings):
    projection = build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    emap = build_inswapper(settings.models_folder / "swap.onnx")
    register(settings.models_folder / "swap.onnx")
    runtime = Runtime(replace(settings, providers=(CPU,)), io_binding=False)   # on CPU on a GPU machine too
    rng = np.random.default_rng(3)

    plain, bound = _sessions(runtime, runtime.catalog.find("recogniser", "rec"))
    blob = rng.random((5, 3, 112, 112), dtype=np.float32)
    (a,) = plain.run(None, {"input.1": blob})
    (b,) = bound.run(None, {"input.1": blob})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(b, arcface_expected(blob, projection), rtol=1e-4, atol=1e-5)

    plain, bound = _sessions(runtime, runtime.catalog.find("swapper"))
    feeds = {"target": rng.random((1, 3, 128, 128), dtype=np.float32), "source": emap[:1] * 9}
    (a,) = plain.run(["output"], feeds)
    (b,) = bound.run(["output"], feeds)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(b, inswapper_expected(feeds["target"], feeds["source"]), atol=1e-6)


def test_io_binding_takes_device_values_and_can_keep_outputs_on_the_device(settings):
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    runtime = Runtime(replace(settings, providers=(CPU,)), io_binding=True)   # on CPU on a GPU machine too
    session = runtime.session(runtime.catalog.find("recogniser"))
    assert session.io_binding and session.device == "cpu"
    blob = np.random.default_rng(0).random((2, 3, 112, 112), dtype=np.float32)
    value = onnxruntime.OrtValue.ortvalue_from_numpy(blob, "cpu", 0)
    (kept,) = session.run_bound({"input.1": value}, keep_on_device=True)
    assert isinstance(kept, onnxruntime.OrtValue) and kept.device_name() == "cpu" and kept.shape() == [2, 512]
    np.testing.assert_array_equal(kept.numpy(), session.inner.run(None, {"input.1": blob})[0])


def test_a_fixed_shape_model_runs_through_buffers_bound_once_which_a_cuda_graph_replays(settings):
    """inswapper's fixed shapes: every call copies into the same bound buffers (what a recorded CUDA graph
    reads and writes), results are copies the next call leaves alone; a dynamic model keeps io-binding."""
    emap = build_inswapper(settings.models_folder / "swap.onnx")
    register(settings.models_folder / "swap.onnx")
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    runtime = Runtime(replace(settings, providers=(CPU,)), io_binding=True)   # the GPU path's code, on CPU
    session = runtime.session(runtime.catalog.find("swapper"))
    assert session.fixed is not None and "fixed binding" in repr(session)
    where = session.fixed.addresses()
    assert set(where) == {"target", "source", "output"} and len(set(where.values())) == 3
    rng = np.random.default_rng(4)
    results = []
    for k in range(3):
        target = rng.random((1, 3, 128, 128), dtype=np.float32)
        source = emap[k:k + 1] * (k + 2)
        (out,) = session.run(["output"], {"target": target, "source": source})
        results.append((out, inswapper_expected(target, source)))
        assert session.fixed.addresses() == where
    for out, expected in results:                      # not overwritten by the calls after them
        np.testing.assert_allclose(out, expected, atol=1e-6)
    targets = rng.random((3, 3, 128, 128), dtype=np.float32)
    (batch,) = session.run_batched({"target": targets, "source": emap[:3] * 4})   # face by face, same buffers
    np.testing.assert_allclose(batch, inswapper_expected(targets, emap[:3] * 4), atol=1e-6)
    assert session.fixed.runs == 6 and session.fixed.addresses() == where
    (kept,) = session.run_bound({"target": targets[:1], "source": emap[:1]}, keep_on_device=True)
    assert kept.data_ptr() == where["output"]
    from faceright.errors import ModelError

    with pytest.raises(ModelError, match=r"fixed shape \[1, 3, 128, 128\]"):
        session.run(None, {"target": targets[:2], "source": emap[:2]})
    assert runtime.session(runtime.catalog.find("recogniser")).fixed is None        # a dynamic batch
    off = Runtime(replace(settings, providers=(CPU,), cuda_graphs=False), io_binding=True)
    assert off.session(off.catalog.find("swapper")).fixed is None
    assert Runtime(replace(settings, providers=(CPU,))).session(runtime.catalog.find("swapper")).fixed is None


def _recording_ort(refuse_graph=False):
    """The real onnxruntime, saying it has the GPU providers, recording each session's provider options;
    ``refuse_graph``: a session asked for a CUDA graph fails, as one with nodes off the GPU does."""
    fake, made = fake_ort(ALL), []
    real = onnxruntime.InferenceSession

    def session(source, sess_options=None, providers=None, provider_options=None):
        made.append(dict(zip(providers, provider_options)))
        if refuse_graph and made[-1].get(CUDA, {}).get("enable_cuda_graph"):
            raise RuntimeError("This session cannot use the CUDA Graph feature as requested by the user")
        return real(source, sess_options=sess_options, providers=[CPU])

    fake.InferenceSession = session
    return fake, made


@pytest.mark.parametrize("refuse_graph", [False, True], ids=["graph", "refused"])
def test_gpu_sessions_of_fixed_shape_models_ask_for_a_cuda_graph(settings, refuse_graph, caplog):
    build_inswapper(settings.models_folder / "swap.onnx")
    register(settings.models_folder / "swap.onnx")
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    fake, made = _recording_ort(refuse_graph)
    runtime = Runtime(settings, ort=fake)
    with caplog.at_level(logging.INFO, logger="faceright.engine.runtime"):
        runtime.session(runtime.catalog.find("swapper"))
    assert made[0][CUDA]["enable_cuda_graph"] == "1" and made[0][TENSORRT]["trt_cuda_graph_enable"] is True
    if refuse_graph:                                    # made again without the graph, and said
        assert len(made) == 2 and "enable_cuda_graph" not in made[1][CUDA]
        assert "without a CUDA graph" in caplog.text
    else:
        assert len(made) == 1
    made.clear()
    runtime.session(runtime.catalog.find("recogniser"))   # a dynamic batch: no graph asked
    assert len(made) == 1 and "enable_cuda_graph" not in made[0][CUDA]
    assert "trt_cuda_graph_enable" not in made[0][TENSORRT]


def test_feeds_that_do_not_fit_the_inputs_are_refused(settings):
    build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    runtime = Runtime(settings, io_binding=True)
    session = runtime.session(runtime.catalog.find("recogniser"))
    from faceright.errors import ModelError

    with pytest.raises(ModelError, match="missing input.1; unknown data"):
        session.run(None, {"data": np.zeros((1, 3, 112, 112), np.float32)})


# -- batching -------------------------------------------------------------------------------------


def _count_calls(session):
    sizes = []
    run = session.run

    def counting(names, feeds, *rest):
        sizes.append(next(iter(feeds.values())).shape[0])
        return run(names, feeds, *rest)

    session.run = counting
    return sizes


def test_a_dynamic_batch_goes_in_chunks_of_batch_size(settings):
    projection = build_arcface(settings.models_folder / "rec.onnx")
    register(settings.models_folder / "rec.onnx")
    runtime = Runtime(settings, io_binding=True)
    session = runtime.session(runtime.catalog.find("recogniser"))
    assert session.max_batch is None
    sizes = _count_calls(session)
    blob = np.random.default_rng(1).random((7, 3, 112, 112), dtype=np.float32)
    (out,) = session.run_batched({"input.1": blob})
    assert sizes == [3, 3, 1]  # settings.batch_size = 3
    np.testing.assert_allclose(out, arcface_expected(blob, projection), rtol=1e-4, atol=1e-5)
    sizes.clear()
    session.run_batched({"input.1": blob}, batch_size=10)
    assert sizes == [7]


def test_a_fixed_batch_of_one_loops_face_by_face(settings):
    emap = build_inswapper(settings.models_folder / "swap.onnx")
    register(settings.models_folder / "swap.onnx")
    runtime = Runtime(settings)
    session = runtime.session(runtime.catalog.find("swapper"))
    assert session.max_batch == 1
    sizes = _count_calls(session)
    rng = np.random.default_rng(2)
    target = rng.random((3, 3, 128, 128), dtype=np.float32)
    source = emap[:3] * 5
    (out,) = session.run_batched({"target": target, "source": source})
    assert sizes == [1, 1, 1]
    np.testing.assert_allclose(out, inswapper_expected(target, source), atol=1e-6)


def test_a_fixed_batch_above_one_is_padded_and_the_padding_dropped(settings):
    projection = build_arcface(settings.models_folder / "rec2.onnx", dynamic_batch=False)
    # rewrite the fixed batch 1 as 2 to get a model that only takes pairs
    import onnx

    model = onnx.load(str(settings.models_folder / "rec2.onnx"))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_value = 2
    onnx.save(model, str(settings.models_folder / "rec2.onnx"))
    register(settings.models_folder / "rec2.onnx")
    runtime = Runtime(settings)
    session = runtime.session(runtime.catalog.find("recogniser"))
    assert session.max_batch == 2
    sizes = _count_calls(session)
    blob = np.random.default_rng(4).random((3, 3, 112, 112), dtype=np.float32)
    (out,) = session.run_batched({"input.1": blob})
    assert sizes == [2, 2] and out.shape == (3, 512)
    np.testing.assert_allclose(out, arcface_expected(blob, projection), rtol=1e-4, atol=1e-5)


def test_inputs_of_different_batch_sizes_are_refused(settings):
    emap = build_inswapper(settings.models_folder / "swap.onnx", dynamic_batch=True)
    register(settings.models_folder / "swap.onnx")
    runtime = Runtime(settings)
    session = runtime.session(runtime.catalog.find("swapper"))
    with pytest.raises(ValueError, match="batch axis"):
        session.run_batched({"target": np.zeros((2, 3, 128, 128), np.float32), "source": emap[:3]})


# -- backends -------------------------------------------------------------------------------------


def test_load_routes_a_renamed_file_to_its_backend_class(settings, tmp_path):
    from faceright.engine.detect import DETECTORS

    path = tmp_path / "arcface_r100.onnx"
    faces = build_scrfd(path, [(100, 120, 180, 220), (300, 300, 500, 520)])
    detector = Runtime(settings).load(path)
    assert type(detector) is DETECTORS["scrfd"]
    found = sorted(detector.detect(np.zeros((640, 640, 3), np.uint8)), key=lambda f: f.box[0])
    np.testing.assert_allclose([f.box for f in found], [f.box for f in faces], atol=1e-3)
    np.testing.assert_allclose([f.landmarks for f in found], [f.kps for f in faces], atol=1e-3)


def test_load_takes_a_catalog_name_without_a_kind(settings):
    from faceright.engine.recognise import RECOGNISERS

    assert type(Runtime(settings).load("sface-2021dec-int8bq")) is RECOGNISERS["sface"]


def test_load_refuses_a_model_for_another_role(settings, tmp_path):
    path = tmp_path / "swap.onnx"
    build_scrfd(path)
    with pytest.raises(ModelRoleError, match="as a swapper"):
        Runtime(settings).load(path, "swapper")
    with pytest.raises(ModelRoleError, match="as a swapper"):
        Runtime(settings).swapper(path)


def test_the_swapper_gets_the_emap_from_the_model_file(settings):
    from faceright.engine.swap import SWAPPERS

    emap = build_inswapper(settings.models_folder / "anything.onnx")

    register(settings.models_folder / "anything.onnx")
    runtime = Runtime(settings)
    swapper = runtime.swapper()
    assert type(swapper) is SWAPPERS["inswapper"]
    np.testing.assert_array_equal(swapper.emap, emap)
    assert swapper.batch_size == settings.batch_size
    assert isinstance(swapper.session, Session)


def test_without_a_swap_model_the_classic_backend_is_used(settings):
    from faceright.engine.swap import SWAPPERS

    runtime = Runtime(settings)
    assert type(runtime.swapper()) is SWAPPERS["classic"]
    assert runtime.session_count == 0
    build_inswapper(settings.models_folder / "swap.onnx")
    register(settings.models_folder / "swap.onnx")
    assert type(runtime.swapper("classic")) is SWAPPERS["classic"]  # asked for by name
    assert type(runtime.swapper()) is SWAPPERS["inswapper"]


def test_the_detector_threshold_comes_from_the_settings(settings):
    runtime = Runtime(replace(settings, det_threshold=0.75))
    assert runtime.detector().threshold == 0.75
    assert runtime.detector(threshold=0.3).threshold == 0.3


def test_the_configured_models_are_used_by_name(settings):
    build_scrfd(settings.models_folder / "mine.onnx")
    register(settings.models_folder / "mine.onnx")
    assert Runtime(settings).detector().model_id.startswith("scrfd:")
    configured = Runtime(replace(settings, detector="yunet-2023mar-int8bq"))
    assert configured.detector().model_id.startswith("yunet:")
    assert isinstance(configured.catalog, Catalog)


@pytest.mark.parametrize("in_graph", [False, True])
def test_an_arcface_export_that_normalises_inside_its_graph_gets_raw_pixels(tmp_path, in_graph):
    """insightface's rule: Sub and Mul at the start of the graph mean it normalises itself."""
    models = tmp_path / "models"
    models.mkdir()
    projection = build_arcface(models / "rec.onnx", normalise_in_graph=in_graph)
    register(models / "rec.onnx")
    recogniser = Runtime(EngineSettings(models_dir=models)).recogniser()
    crop = np.random.default_rng(3).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    rgb = crop[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32)
    expected = arcface_expected((rgb - 127.5) / 127.5, projection)   # the model sees each pixel normalised once
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(recogniser.embed_crops([crop])[0], expected[0], atol=1e-5)


@pytest.mark.parametrize("configured, available", [
    ([CUDA], [CPU]),
    ([TENSORRT, CUDA], ["AzureExecutionProvider", CPU]),
])
def test_asking_only_for_providers_this_onnxruntime_lacks_is_refused_not_run_on_cpu(configured, available, settings):
    with pytest.raises(ConfigError) as caught:
        resolve_providers(replace(settings, providers=tuple(configured)), available, "1.32.0")
    message = str(caught.value)
    assert configured[0] in message and "offers" in message and "faceright[gpu]" in message and CPU in message


def test_a_cpu_fallback_that_was_asked_for_is_taken(settings):
    assert [n for n, _ in resolve_providers(replace(settings, providers=(CUDA, CPU)), [CPU], "1.32.0")] == [CPU]
