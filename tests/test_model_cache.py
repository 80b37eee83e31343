"""Models are read once per content: the prepared-model cache (engine/models/prepared.py).

Real models: the shipped YuNet and SFace (their int8bq graphs need the fix-ups, YuNet its
input size freed), and an inswapper-shaped model built with onnx.helper (its emap).
Detections on a real photo are compared between a session made from a fresh parse and one
made from the cache, in another process that must never import ``onnx``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceright.engine.models import prepared as prepared_module
from faceright.engine.models.catalog import Catalog
from faceright.engine.models.prepared import PREPARED_FORMAT, ModelCache
from faceright.engine.models.signature import read_signature
from faceright.engine.runtime import Runtime
from faceright.engine.settings import EngineSettings

from onnx_builders import build_inswapper, build_stub


@pytest.fixture
def settings(tmp_path) -> EngineSettings:
    return EngineSettings(models_dir=tmp_path / "models", trt_cache_dir=tmp_path / "trt",
                          model_cache_dir=tmp_path / "model-cache")


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*/prepared.json"))


def test_a_second_catalog_reads_every_model_from_the_cache(settings):
    first = Catalog.from_settings(settings)
    models = first.all()
    assert {m.name for m in models} >= {"yunet-2023mar-int8bq", "sface-2021dec-int8bq"}
    assert first.cache.parsed == len(models)
    assert len(_entries(settings.model_cache_folder)) == len(models)
    second = Catalog.from_settings(settings)
    again = second.all()
    assert second.cache.parsed == 0                          # nothing parsed: all from disk
    assert [(m.name, m.kind, m.family, m.signature) for m in again] == \
        [(m.name, m.kind, m.family, m.signature) for m in models]
    for model in models:
        assert model.signature == read_signature(model.path)   # what a fresh read of the file gives


def test_routing_the_catalog_reads_no_prepared_graph_until_a_session_needs_one(settings, monkeypatch):
    """Every lookup routes every model of the catalog; only the models a job makes sessions for have
    their prepared graphs (a fixed SFace: 37 MB) read and checked."""
    build_inswapper(settings.models_folder / "swap.onnx")
    Catalog.from_settings(settings).all()
    read = []
    real = prepared_module._entry_file
    monkeypatch.setattr(prepared_module, "_entry_file",
                        lambda entry, item: read.append(item["file"]) or real(entry, item))
    catalog = Catalog.from_settings(settings)
    detector = catalog.find("detector")
    catalog.find("swapper", "swap")
    catalog.find("recogniser")
    assert read == [] and catalog.cache.parsed == 0
    source = catalog.prepared(detector).session_source
    entry = settings.model_cache_folder / detector.sha256[:2] / detector.sha256
    # YuNet's fixed graph, checked for its session and handed to onnxruntime as the entry's file: no
    # bytes held by the process (onnxruntime keeps bytes it is given for as long as the session lives)
    assert read == ["model.onnx"] and source == str(entry / "model.onnx")
    assert catalog.prepared(detector).session_source == source and read == ["model.onnx"]   # once


def test_the_fixed_graph_is_cached_only_where_onnxruntime_needs_it(settings):
    build_inswapper(settings.models_folder / "swap.onnx")
    catalog = Catalog.from_settings(settings)
    swap = catalog.find("swapper", "swap")
    prepared = catalog.prepared(swap)
    assert prepared.model_bytes is None and prepared.session_source == str(swap.path)  # only an unused emap
    import onnx
    from onnx import numpy_helper

    emap = numpy_helper.to_array(onnx.load(str(swap.path)).graph.initializer[-1])
    assert prepared.emap.dtype == np.float32 and np.array_equal(prepared.emap, emap)
    for name in ("yunet-2023mar-int8bq", "sface-2021dec-int8bq"):     # int8bq graphs: DequantizeLinear folded, YuNet's input size freed
        shipped = catalog.prepared(catalog.find("detector" if name.startswith("yunet") else "recogniser", name))
        assert shipped.model_bytes is not None
    entry = settings.model_cache_folder / swap.sha256[:2] / swap.sha256
    assert sorted(p.name for p in entry.iterdir()) == ["emap.npy", "prepared.json"]
    data = json.loads((entry / "prepared.json").read_text())
    assert data["format"] == PREPARED_FORMAT and data["kind"] == "swapper" and data["model"] is None
    reloaded = Catalog.from_settings(settings)
    assert np.array_equal(reloaded.prepared(reloaded.find("swapper", "swap")).emap, emap)
    assert reloaded.cache.parsed == 0


def _detect_in_process(settings: EngineSettings, image: Path) -> list[list[float]]:
    """Faces found in ``image`` by a fresh Python process, and whether it imported onnx."""
    code = (
        "import json, sys, cv2\n"
        "from pathlib import Path\n"
        "from faceright.engine.runtime import Runtime\n"
        "from faceright.engine.settings import EngineSettings\n"
        f"s = EngineSettings(models_dir=Path({str(settings.models_folder)!r}), "
        f"trt_cache_dir=Path({str(settings.trt_cache_folder)!r}), "
        f"model_cache_dir=Path({str(settings.model_cache_folder)!r}))\n"
        "runtime = Runtime(s)\n"
        "analyser = runtime.analyser()\n"
        f"faces = analyser.faces(cv2.imread({str(image)!r}), embed=True)\n"
        "print(json.dumps({'boxes': [[float(v) for v in f.box] + [float(v) for v in f.landmarks.ravel()]"
        " for f in faces], 'embedding': [float(v) for v in faces[0].embedding.ravel()],"
        " 'onnx': 'onnx' in sys.modules, 'parsed': runtime.catalog.cache.parsed}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FACERIGHT_MODELS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sessions_from_the_cache_find_the_same_faces_without_importing_onnx(settings, t1_path):
    cold = _detect_in_process(settings, t1_path)
    assert cold["onnx"] and cold["parsed"] == 2          # YuNet and SFace read (and cached) once
    warm = _detect_in_process(settings, t1_path)
    assert not warm["onnx"] and warm["parsed"] == 0      # the next process never imports onnx
    assert len(cold["boxes"]) == 6
    assert warm["boxes"] == cold["boxes"] and warm["embedding"] == cold["embedding"]


def test_a_tampered_or_stale_entry_is_read_again_not_trusted(settings, t1_path, caplog):
    catalog = Catalog.from_settings(settings)
    detector = catalog.find("detector", "yunet-2023mar-int8bq")
    catalog.prepared(detector)
    entry = settings.model_cache_folder / detector.sha256[:2] / detector.sha256
    graph = entry / "model.onnx"
    good = graph.read_bytes()
    graph.write_bytes(good[:-100] + b"\0" * 100)       # a changed prepared graph
    fresh = ModelCache(settings.model_cache_folder)
    with caplog.at_level("INFO"):
        again = fresh.get(detector.path, detector.sha256)
        assert fresh.parsed == 0      # the entry's description is read; its graph when a session needs it
        assert again.model_bytes == good and fresh.parsed == 1
    assert "does not hash as recorded" in caplog.text
    assert graph.read_bytes() == good                 # rewritten
    data = json.loads((entry / "prepared.json").read_text())
    (entry / "prepared.json").write_text(json.dumps({**data, "format": "faceright.prepared-model.0"}))
    older = ModelCache(settings.model_cache_folder)
    older.get(detector.path, detector.sha256)
    assert older.parsed == 1                          # another format version is never used
    (entry / "prepared.json").write_text("{not json")
    broken = ModelCache(settings.model_cache_folder)
    assert broken.get(detector.path, detector.sha256).signature == detector.signature and broken.parsed == 1


def test_an_unwritable_cache_costs_a_parse_never_the_job(settings, caplog):
    settings.model_cache_folder.parent.mkdir(parents=True, exist_ok=True)
    settings.model_cache_folder.write_text("a file where the cache folder should be")
    runtime = Runtime(settings)
    with caplog.at_level("WARNING"):
        detector = runtime.detector()
        runtime.recogniser()
    assert detector is not None and runtime.session_count == 2
    assert caplog.text.count("cannot be written") == 1   # said once, not per model
    assert str(settings.model_cache_folder) in caplog.text


def test_a_model_no_route_knows_is_cached_as_a_signature_and_still_reported(settings):
    build_stub(settings.models_folder / "odd.onnx", inputs={"x": [1, 7]}, outputs={"y": [1, 7]})
    checks = {c.name: c for c in Catalog.from_settings(settings).verify()}
    assert checks["odd"].status == "unknown"
    again = Catalog.from_settings(settings)
    assert {c.name: c.status for c in again.verify()}["odd"] == "unknown" and again.cache.parsed == 0


def test_a_corrupt_file_is_reported_and_nothing_is_cached_for_it(settings):
    settings.models_folder.mkdir(parents=True)
    (settings.models_folder / "cut.onnx").write_bytes(b"\x08\x07\x12\x04junk")
    checks = {c.name: c for c in Catalog.from_settings(settings).verify()}
    assert checks["cut"].status == "corrupt"
    from faceright.compat import file_sha256

    sha = file_sha256(settings.models_folder / "cut.onnx")
    assert not (settings.model_cache_folder / sha[:2] / sha).exists()


def test_the_folder_is_listed_again_only_when_it_changes(settings, monkeypatch):
    catalog = Catalog.from_settings(settings)
    scans = []
    real = catalog._scan
    monkeypatch.setattr(catalog, "_scan", lambda: scans.append(1) or real())
    for _ in range(5):
        catalog.find("detector")
        catalog.find("recogniser", "sface-2021dec-int8bq")
    assert len(scans) == 1
    build_inswapper(settings.models_folder / "swap.onnx")   # a new file: the folder's mtime changes
    assert catalog.find("swapper", "swap").family == "inswapper"
    assert len(scans) == 2
