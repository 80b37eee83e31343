"""`faceright models list / verify / add` through the real CLI entry point."""
from __future__ import annotations

import hashlib
import json


from faceright.cli.main import main

from onnx_builders import build_arcface, build_inswapper, build_scrfd

YUNET_SHA = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"


def test_list_shows_the_shipped_models_verified(models, capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[:3]
    assert header.split() == ["NAME", "KIND", "FAMILY", "SOURCE", "SHA256", "STATUS"]
    assert rows[0].split() == ["yunet-2023mar-int8bq", "detector", "yunet", "shipped", YUNET_SHA[:12], "verified"]
    assert rows[1].split()[:4] == ["sface-2021dec-int8bq", "recogniser", "sface", "shipped"]
    assert f"models folder: {models}" in out


def test_add_registers_a_model_that_list_then_shows_verified(models, tmp_path, capsys):
    source = tmp_path / "elsewhere" / "inswapper_128.onnx"
    build_inswapper(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert main(["models", "add", str(source), "--name", "swap"]) == 0
    assert f"registered 'swap': inswapper swapper, sha256 {digest}" in capsys.readouterr().out
    assert (models / "inswapper_128.onnx").read_bytes() == source.read_bytes()
    assert main(["models", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("swap "))
    assert row.split() == ["swap", "swapper", "inswapper", "user", digest[:12], "verified"]


def test_list_shows_an_unregistered_model_as_unverified(models, capsys):
    build_scrfd(models / "det.onnx")
    main(["models", "list"])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("det "))
    assert row.split()[1:4] == ["detector", "scrfd", "user"] and row.split()[-1] == "unverified"


def test_list_warns_of_an_unregistered_model_and_says_what_to_do(models, capsys):
    build_scrfd(models / "det.onnx")
    assert main(["models", "list"]) == 0
    warning = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:"))
    assert str(models / "det.onnx") in warning and "never picked on its own" in warning
    assert f"faceright models add {models / 'det.onnx'}" in warning
    assert main(["models", "list", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert "faceright models add" in listed["det"]["warning"] and listed["yunet-2023mar-int8bq"]["warning"] is None
    assert main(["models", "add", str(models / "det.onnx")]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    assert "warning:" not in capsys.readouterr().out


def test_verify_passes_when_every_hash_matches(models, capsys):
    build_arcface(models / "rec.onnx")
    assert main(["models", "add", str(models / "rec.onnx")]) == 0
    assert main(["models", "verify"]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 model(s) usable" in out


def test_verify_names_the_file_and_both_hashes_for_a_replaced_file(models, capsys):
    build_arcface(models / "rec.onnx", seed=1)
    main(["models", "add", str(models / "rec.onnx")])
    expected = hashlib.sha256((models / "rec.onnx").read_bytes()).hexdigest()
    build_arcface(models / "rec.onnx", seed=2)
    actual = hashlib.sha256((models / "rec.onnx").read_bytes()).hexdigest()
    capsys.readouterr()
    assert main(["models", "verify"]) == 1
    captured = capsys.readouterr()
    line = next(line for line in captured.out.splitlines() if "rec:" in line)
    assert line.startswith("FAILED")
    assert str(models / "rec.onnx") in line and f"sha256 {actual}" in line and f"but {expected} is expected" in line
    assert "1 failed: rec" in captured.err


def test_verify_says_a_registered_file_is_truncated(models, capsys):
    build_arcface(models / "rec.onnx")
    main(["models", "add", str(models / "rec.onnx")])
    data = (models / "rec.onnx").read_bytes()
    (models / "rec.onnx").write_bytes(data[:1000])
    capsys.readouterr()
    assert main(["models", "verify", "rec"]) == 1
    out = capsys.readouterr().out
    assert f"is truncated: 1000 bytes of the {len(data)} expected" in out


def test_verify_says_an_unregistered_broken_file_is_not_a_readable_model(models, capsys):
    build_arcface(models / "rec.onnx")
    data = (models / "rec.onnx").read_bytes()
    (models / "rec.onnx").write_bytes(data[: len(data) // 2])
    assert main(["models", "verify"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "rec:" in line)
    assert line.startswith("FAILED") and "not a readable ONNX model (truncated or corrupt?)" in line


def test_verify_json_reports_each_model(models, capsys):
    assert main(["models", "verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert {m["name"]: m["actual_sha256"] for m in report["models"]}["yunet-2023mar-int8bq"] == YUNET_SHA


def test_verify_of_an_unknown_name_is_an_error_listing_the_known_ones(models, capsys):
    assert main(["models", "verify", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no model named 'nope'" in err and "yunet-2023mar-int8bq" in err


def test_add_of_a_missing_file_is_a_clear_error(models, tmp_path, capsys):
    assert main(["models", "add", str(tmp_path / "absent.onnx")]) == 2
    assert "absent.onnx does not exist" in capsys.readouterr().err


def test_models_dir_option_overrides_the_environment(models, tmp_path, capsys):
    other = tmp_path / "other"
    build_scrfd(other / "d.onnx")
    assert main(["models", "--models-dir", str(other), "list"]) == 0
    out = capsys.readouterr().out
    assert f"models folder: {other}" in out and "\nd " in out


def test_doctor_warns_of_an_unregistered_model_file_and_says_how_to_register_it(models, capsys):
    build_arcface(models / "w600k_r50.onnx")          # dropped in, never `models add`ed
    assert main(["doctor", "--json", "--no-load"]) == 0
    report = json.loads(capsys.readouterr().out)
    found = [f for f in report["findings"] if f["code"] == "models.unregistered"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert "w600k_r50.onnx" in found[0]["message"] and "models add" in found[0]["message"]
