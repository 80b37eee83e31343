"""What a command imports before it needs it (issue 12: start-up).

Each command runs in a fresh interpreter, through ``faceright.cli.main.main`` exactly as the
console script calls it; the test reads which heavy modules ended up in ``sys.modules``.
Listing commands (``--help``) and the document-only commands (``keyring list``, ``license
verify`` offline without a face) must load neither PyAV, OpenCV, onnx nor onnxruntime, and
not numpy or requests either. The times are measured by ``benchmarks/startup.py``, not here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_license_support import Keys, make_body, sign_body

ENGINE_MODULES = ("av", "cv2", "onnx", "onnxruntime")
ALSO_UNNEEDED = ("numpy", "requests", "PIL", "opentimelineio", "yaml")

RUNNER = """
import json, os, sys
from faceright.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
with open(os.environ["IMPORTED_TO"], "w") as fh:
    json.dump({"code": code, "modules": sorted(m for m in sys.modules if "." not in m)}, fh)
"""


def imported_by(argv: list[str], tmp_path: Path) -> tuple[int, set[str], str]:
    out = tmp_path / "imported.json"
    env = {**os.environ, "IMPORTED_TO": str(out)}
    done = subprocess.run([sys.executable, "-c", RUNNER, *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    assert out.exists(), done.stderr
    data = json.loads(out.read_text())
    return data["code"], set(data["modules"]), done.stdout + done.stderr


@pytest.mark.parametrize("argv", [
    ["--help"], ["swap", "--help"], ["license", "--help"], ["label", "--help"], ["ledger", "--help"],
    ["models", "--help"], ["doctor", "--help"], ["demo", "--help"], ["publish", "--help"], ["engine", "--help"],
    ["farm", "--help"], ["keyring", "list"],
])
def test_listing_a_command_loads_no_engine_library(argv, tmp_path):
    code, modules, output = imported_by(argv, tmp_path)
    assert code == 0, output
    assert "usage:" in output or "no trusted keys" in output
    assert not modules & set(ENGINE_MODULES + ALSO_UNNEEDED), sorted(modules & set(ENGINE_MODULES + ALSO_UNNEEDED))


def test_the_whole_help_still_lists_every_command(tmp_path):
    code, _, output = imported_by(["--help"], tmp_path)
    for name in ("swap", "license", "keyring", "label", "ledger", "models", "doctor", "demo", "publish",
                 "engine", "farm"):
        assert f"    {name}" in output, name


def test_an_unknown_command_is_refused_naming_the_known_ones(tmp_path):
    code, _, output = imported_by(["swapp"], tmp_path)
    assert code == 2 and "invalid choice: 'swapp'" in output and "'swap'" in output and "'farm'" in output


def test_verifying_a_license_offline_without_a_face_reads_documents_only(tmp_path):
    keys = Keys().trust()
    license_file = tmp_path / "license.json"
    license_file.write_bytes(sign_body(make_body(keys), keys.issuer))
    code, modules, output = imported_by(
        ["license", "verify", str(license_file), "--offline", "--production", "PRJ-0001", "--platform", "douyin",
         "--territory", "CN", "--date", "2026-06-01", "--json"], tmp_path)
    findings = json.loads(output[output.index("["):output.rindex("]") + 1])
    codes = [f["code"] for f in findings]
    assert code == 1 and "license.identity_unchecked" in codes     # no face given: that blocks, as it must
    assert "license.signature_ok" in codes                        # the document itself verified
    assert not modules & set(ENGINE_MODULES + ALSO_UNNEEDED), sorted(modules & set(ENGINE_MODULES + ALSO_UNNEEDED))
    assert "cryptography" in modules           # the signature really was checked
