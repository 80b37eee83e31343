"""A host's Python (Nuke 15's 3.10, no onnxruntime) swaps through the service with nothing heavy installed.

CI runs this file in `.venv310`, which has neither onnxruntime nor the web stack: the studio and
the service run in the engine's own environment (this interpreter when it has them, else the
repository's `.venv`), the client here.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.hostside

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def engine_python() -> str | None:
    if all(importlib.util.find_spec(m) for m in ("onnxruntime", "fastapi", "uvicorn")):
        return sys.executable
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else None


def test_a_host_without_onnxruntime_swaps_through_the_service(tmp_path):
    python = engine_python()
    if python is None:
        pytest.skip("no engine environment (onnxruntime + faceright[service]) to run the service in")
    build = (f"import sys, json; sys.path.insert(0, {str(TESTS)!r}); from pathlib import Path; "
             f"from service_support import make_studio; s = make_studio(Path({str(tmp_path)!r})); "
             "print(json.dumps({'root': str(s.root), 'home': str(s.home), 'config': str(s.config_file), "
             "'shot': s.shot('sh010', 'show:out/host.mp4')}))")
    made = subprocess.run([python, "-c", build], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    info = json.loads(made.stdout.strip().splitlines()[-1])

    from service_support import ServiceProcess, Studio

    studio = Studio(Path(info["root"]), Path(info["home"]), Path(info["config"]), built=None)
    # the client in a fresh interpreter of the host's environment, so sys.modules shows what it needed
    client = ("import json, sys; from faceright.config import Config; from faceright.service.client import "
              "RemoteEngine; from faceright.shot import FaceShot; "
              "config = Config.load(); shot = FaceShot.from_json(json.loads(sys.argv[2])); "
              "engine = RemoteEngine(config, url=sys.argv[1]); o = engine.swap(shot); engine.close(); "
              "print(json.dumps({'proven': o.label.proven, 'frames': o.frames, 'faces': o.faces_swapped, "
              "'outputs': [f.path for f in o.shot.results.outputs], 'heavy': sorted({'onnxruntime', 'cv2', 'av', "
              "'fastapi', 'sqlalchemy', 'numpy'} & set(sys.modules))}))")
    env = {"FACERIGHT_HOME": str(studio.home), "PATH": "/usr/bin:/bin"}
    with ServiceProcess(studio, python=python) as service:
        ran = subprocess.run([sys.executable, "-c", client, service.url, json.dumps(info["shot"])], env=env,
                             capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["proven"] and result["frames"] == 6 and result["faces"] > 0
    assert result["outputs"] == ["show:out/host.mp4"]
    assert (studio.root / "out" / "host.mp4").stat().st_size > 0
    assert not {"onnxruntime", "cv2", "av", "fastapi", "sqlalchemy"} & set(result["heavy"]), result["heavy"]
