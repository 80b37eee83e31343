"""`faceright doctor` on this machine, and the findings behind it."""
from __future__ import annotations

import json
import subprocess
import types
from importlib import metadata

import onnxruntime

from faceright.cli.main import main
from faceright.engine import environment, runtime as runtime_module
from faceright.engine.environment import cuda_devices, diagnose
from faceright.engine.settings import EngineSettings

from onnx_builders import build_inswapper

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def _installed(distribution):
    try:
        return metadata.version(distribution) is not None
    except metadata.PackageNotFoundError:
        return False


def cpu_only_onnxruntime():
    """This machine's onnxruntime, except that it offers no GPU provider (as the CPU build does)."""
    fake = types.SimpleNamespace(**{k: getattr(onnxruntime, k) for k in dir(onnxruntime) if not k.startswith("__")})
    fake.__version__ = onnxruntime.__version__
    fake.get_available_providers = lambda: [p for p in onnxruntime.get_available_providers() if p not in GPU_PROVIDERS]
    return fake


def test_doctor_reports_this_machine_and_says_the_engine_can_run(models, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    available = onnxruntime.get_available_providers()
    # the default configuration asks for TensorRT, CUDA, CPU: those this onnxruntime offers are used, CPU last
    used = [p for p in GPU_PROVIDERS if p in available] + ["CPUExecutionProvider"]
    (distribution,) = [d for d in ("onnxruntime", "onnxruntime-gpu") if _installed(d)]
    assert (f"onnxruntime       {onnxruntime.__version__} (distribution: {distribution} "
            f"{metadata.version(distribution)})") in out
    assert "available: " + ", ".join(available) in out
    assert "configured: TensorrtExecutionProvider, CUDAExecutionProvider, CPUExecutionProvider" in out
    assert "used: " + ", ".join(used) + "\n" in out      # on a CPU-only onnxruntime: exactly CPUExecutionProvider
    assert "detector          yunet-2023mar-int8bq (yunet, shipped, verified, sha256 49f000ec501f, loads)" in out
    assert "recogniser        sface-2021dec-int8bq (sface, shipped, verified, sha256 fb143eea0783, loads)" in out
    assert "no swap model: the classic backend is used" in out
    assert f"models folder     {models}" in out
    for library in ("PyAV", "FFmpeg (in PyAV)", "OpenCV"):
        assert f"\n{library} " in out
    assert out.rstrip().endswith(f"the engine can run here (on {'GPU' if used != ['CPUExecutionProvider'] else 'CPU'})")


def test_doctor_shows_an_installed_swap_model_instead_of_the_classic_fallback(models, capsys):
    build_inswapper(models / "inswapper_128.onnx")
    assert main(["models", "add", str(models / "inswapper_128.onnx")]) == 0
    capsys.readouterr()
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    swapper = report["models"]["swapper"]
    assert (swapper["name"], swapper["family"], swapper["status"], swapper["loads"]) == (
        "inswapper_128", "inswapper", "verified", True)
    assert not [f for f in report["findings"] if f["code"] == "models.no-swapper"]
    assert report["can_run"] is True


def test_doctor_fails_when_a_configured_detector_is_missing(models, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[engine]\ndetector = "scrfd_10g"\n')
    monkeypatch.setenv("FACERIGHT_CONFIG", str(config))
    assert main(["doctor", "--no-load"]) == 1
    out = capsys.readouterr().out
    assert "error: configured detector 'scrfd_10g' is not available" in out
    assert "no faces can be found" in out
    assert out.rstrip().endswith("the engine cannot run here: fix the errors above")


def test_two_onnxruntime_distributions_are_a_blocking_finding(models, monkeypatch):
    both = [("onnxruntime", "1.32.0"), ("onnxruntime-gpu", "1.32.0")]
    monkeypatch.setattr(runtime_module, "installed_onnxruntime", lambda: both)
    monkeypatch.setattr(environment, "installed_onnxruntime", lambda: both)
    report = diagnose(EngineSettings(models_dir=models), devices=[])
    codes = {f.code: f for f in report.findings}
    assert codes["onnxruntime.conflict"].severity == "error"
    assert "onnxruntime-gpu" in codes["onnxruntime.conflict"].message
    assert not report.can_run


def test_opencv_5_is_a_warning(models, monkeypatch):
    monkeypatch.setattr(environment, "_libraries", lambda: [("PyAV", "18.1.0"), ("FFmpeg (in PyAV)", "8.1"),
                                                              ("OpenCV", "5.0.0"), ("onnx", "1"), ("numpy", "2")])
    report = diagnose(EngineSettings(models_dir=models), load=False, devices=[])
    finding = next(f for f in report.findings if f.code == "media.opencv-5")
    assert finding.severity == "warning" and "opencv-python-headless<5" in finding.message
    assert report.can_run


def test_a_gpu_without_a_gpu_onnxruntime_is_a_warning_saying_what_to_install(models):
    from faceright.engine.runtime import Runtime

    settings = EngineSettings(models_dir=models)
    runtime = Runtime(settings, ort=cpu_only_onnxruntime())      # so it holds where onnxruntime-gpu is installed
    report = diagnose(settings, runtime=runtime, load=False, devices=["0: NVIDIA H100, 81559 MiB, driver 550"])
    finding = next(f for f in report.findings if f.code == "providers.unavailable")
    assert finding.severity == "warning" and "faceright[gpu]" in finding.message
    assert report.cuda_devices == ("0: NVIDIA H100, 81559 MiB, driver 550",)


def test_a_mismatched_model_is_a_warning_that_does_not_stop_the_engine(models):
    import dataclasses

    from faceright.engine.models.catalog import Catalog
    from faceright.engine.models.shipped import SHIPPED
    from faceright.engine.runtime import Runtime

    bad = dataclasses.replace(SHIPPED[0], name="yunet-tampered", sha256="1" * 64)
    settings = EngineSettings(models_dir=models)
    runtime = Runtime(settings, catalog=Catalog(models, shipped=(bad, *SHIPPED)))
    report = diagnose(settings, runtime=runtime, load=False, devices=[])
    finding = next(f for f in report.findings if f.code == "models.mismatch")
    assert finding.severity == "warning" and "yunet-tampered" in finding.message
    assert report.can_run


def test_cuda_devices_are_read_from_nvidia_smi(monkeypatch):
    monkeypatch.setattr(environment.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    fake = lambda *a, **k: types.SimpleNamespace(stdout="0, NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15\n")
    assert cuda_devices(run=fake) == ["0: NVIDIA H100 80GB HBM3, 81559 MiB, driver 550.54.15"]

    def broken(*a, **k):
        raise subprocess.TimeoutExpired("nvidia-smi", 10)

    assert cuda_devices(run=broken) == []
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    assert cuda_devices(run=fake) == []


def test_a_missing_ffprobe_is_said_but_does_not_block(models, monkeypatch, tmp_path):
    import shutil
    assert shutil.which("ffprobe"), "the tests need ffmpeg's ffprobe (Debian: apt-get install ffmpeg)"
    report = diagnose(EngineSettings(models_dir=models), load=False, devices=[])
    assert "media.ffprobe-missing" not in {f.code for f in report.findings}
    monkeypatch.setenv("PATH", str(tmp_path))          # a PATH with no ffprobe on it
    report = diagnose(EngineSettings(models_dir=models), load=False, devices=[])
    finding = next(f for f in report.findings if f.code == "media.ffprobe-missing")
    assert finding.severity == "info" and "ffmpeg" in finding.message
    assert report.can_run
