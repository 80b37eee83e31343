"""TensorRT gets every tensor's shape: symbolic shape inference once per model, kept in the model cache.

The TensorRT provider is not installed here (onnxruntime's CPU wheel), so the annotated graph is
checked for what TensorRT needs (a shape on every tensor a node makes, dynamic axes kept
symbolic) and run on the CPU provider, where it must compute exactly what the original does.
"""
from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort

from faceright.engine.models.catalog import Catalog
from faceright.engine.models.prepared import ModelCache
from faceright.engine.models.shapes import needs_shapes, with_explicit_shapes
from faceright.engine.settings import EngineSettings

from onnx_builders import arcface_expected, build_arcface


def _shape(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_a_graph_without_intermediate_shapes_gets_them_with_its_batch_axis_symbolic(tmp_path):
    path = tmp_path / "arcface.onnx"
    build_arcface(path)   # onnx.helper writes no value_info: "pooled" and "flat" have no shape
    model = onnx.load(str(path))
    assert needs_shapes(model)
    annotated = with_explicit_shapes(model)
    assert not needs_shapes(annotated)
    shapes = {v.name: _shape(v) for v in annotated.graph.value_info}
    assert shapes["pooled"] == ["None", 3, 14, 14] and shapes["flat"] == ["None", 588]


def test_the_cache_infers_once_per_content_and_the_annotated_graph_computes_the_same(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    projection = build_arcface(models / "arcface.onnx")
    settings = EngineSettings(models_dir=models, model_cache_dir=tmp_path / "cache")
    catalog = Catalog.from_settings(settings)
    catalog.add(models / "arcface.onnx")
    (model,) = [m for m in catalog.all() if m.name == "arcface"]
    source = catalog.tensorrt_source(model)
    assert isinstance(source, bytes) and not needs_shapes(onnx.load_from_string(source))
    blob = np.random.default_rng(0).random((3, 3, 112, 112), dtype=np.float32)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input.1": blob})
    np.testing.assert_allclose(out, arcface_expected(blob, projection), rtol=1e-5, atol=1e-5)

    entry = next((tmp_path / "cache").glob(f"*/{model.sha256}"))
    assert hashlib.sha256((entry / "tensorrt.onnx").read_bytes()).digest() == hashlib.sha256(source).digest()
    fresh = ModelCache(tmp_path / "cache")              # the next process: read from the entry, not inferred
    again = fresh.tensorrt_source(fresh.get(model.path, model.sha256))
    assert again == source and fresh.parsed == 0


def test_a_graph_that_has_every_shape_goes_to_tensorrt_as_it_is(tmp_path):
    path = tmp_path / "annotated.onnx"
    build_arcface(path)
    onnx.save(with_explicit_shapes(onnx.load(str(path))), str(path))
    cache = ModelCache(tmp_path / "cache")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    prepared = cache.get(path, digest)
    assert cache.tensorrt_source(prepared) == prepared.session_source == str(path)
    assert ModelCache(tmp_path / "cache").tensorrt_source(prepared) == str(path)   # "none needed" is kept too


def test_without_sympy_the_model_goes_as_it_is_with_a_warning(tmp_path, monkeypatch, caplog):
    import sys

    path = tmp_path / "arcface.onnx"
    build_arcface(path)
    monkeypatch.setitem(sys.modules, "onnxruntime.tools.symbolic_shape_infer", None)   # import fails
    cache = ModelCache(tmp_path / "cache")
    prepared = cache.get(path, hashlib.sha256(path.read_bytes()).hexdigest())
    with caplog.at_level("WARNING"):
        assert cache.tensorrt_source(prepared) == prepared.session_source
    assert "without explicit shapes" in caplog.text and "faceright[gpu]" in caplog.text
    assert not list((tmp_path / "cache").glob("*/*/tensorrt.json"))   # asked again once sympy is there
