"""The layers of DESIGN.md, checked by import-linter and by importing the API without the engine."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from faceright.compat import tomllib

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import rezbuild  # noqa: E402  (the repository's Rez build step assembles the one `faceright` tree)


@pytest.fixture(scope="module")
def assembled(tmp_path_factory) -> Path:
    """The four folders assembled as the one ``faceright`` package (as installed), for import-linter."""
    target = tmp_path_factory.mktemp("assembled")
    rezbuild.build(REPO, target)
    return target / "python"


def lint_imports(python: Path, cwd: Path) -> subprocess.CompletedProcess:
    shutil.copy(REPO / "pyproject.toml", cwd / "pyproject.toml")
    script = "import sys; from importlinter.cli import lint_imports_command; sys.argv = ['lint-imports', '--no-cache']; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, env={"PYTHONPATH": str(python), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_every_import_linter_contract_is_kept(assembled, tmp_path):
    result = lint_imports(assembled, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module,line,contract", [
    ("shot.py", "import faceright.engine.runtime", "the core never imports the engine"),
    ("labels/verify.py", "import onnxruntime", "the core never imports the engine"),
    ("engine/media/video.py", "from faceright.engine.jobs import swap", "the engine proper never imports"),
    ("validators/__init__.py", "from faceright import shot", "hosts and validators import faceright.api only"),
])
def test_a_forbidden_import_even_inside_a_function_breaks_its_contract(assembled, tmp_path, module, line, contract):
    broken = tmp_path / "python"
    shutil.copytree(assembled, broken)
    path = broken / "faceright" / module
    path.write_text(path.read_text() + f"\n\ndef _sneaky():\n    {line}\n")
    result = lint_imports(broken, tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and contract in result.stdout.replace("\n", " ")


def test_every_core_module_is_under_the_core_contract():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    listed = set(config[0]["source_modules"])
    core = {f"faceright.{p.stem}" for p in (REPO / "plugin").iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert core == listed, f"add to the first import-linter contract: {sorted(core - listed)}"
    engine = {f"faceright.engine.{p.stem}" for p in (REPO / "engine").iterdir()
              if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    proper = set(config[1]["source_modules"])
    assert engine - proper == {"faceright.engine.jobs", "faceright.engine.cli", "faceright.engine.service",
                              "faceright.engine.farm"}, sorted(engine - proper)


BLOCKER = textwrap.dedent('''
    import importlib.abc, sys
    BLOCKED = {blocked!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"{{name}} is not installed here (blocked by the test)")
            return None
    sys.meta_path.insert(0, Block())
''')


def run_blocked(blocked: tuple[str, ...], code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = BLOCKER.format(blocked=blocked) + textwrap.dedent(code)
    env = {"PATH": "/usr/bin:/bin", "FACERIGHT_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)


def test_the_api_imports_without_onnxruntime_and_without_the_engine(tmp_path):
    result = run_blocked(("onnxruntime", "faceright.engine"), '''
        import faceright.api as api
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "onnxruntime" or m == "faceright.engine" or m.startswith("faceright.engine."))
        assert not loaded, loaded
        shot = api.FaceShot.loads(api.FaceShot(
            "sh", api.Plate("show:a.mov", api.FrameRange.parse("1001-1048")), api.Donor("d.jpg"),
            api.DocumentRef("l.json"), api.DocumentRef("r.json"),
            api.Usage("P", "douyin", "CN", __import__("datetime").date(2026, 5, 1)), api.Output("o.mov")).dumps())
        print("ok", shot.plate.frames)
    ''', tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok [1001, 1049)"


def test_the_cli_starts_and_core_commands_run_without_onnxruntime(tmp_path):
    result = run_blocked(("onnxruntime",), '''
        from faceright.cli.main import main
        assert main(["keyring", "list"]) == 0
        assert "onnxruntime" not in sys.modules
        try:
            main(["--help"])
        except SystemExit as exc:
            assert exc.code == 0
        assert "onnxruntime" not in sys.modules
    ''', tmp_path)
    assert result.returncode == 0, result.stderr
    assert "swap" in result.stdout and "doctor" in result.stdout


def test_without_a_registered_engine_the_client_says_what_to_install(monkeypatch):
    from faceright import engine_client
    from faceright.errors import DependencyMissingError

    monkeypatch.setattr(engine_client, "entry_points", lambda group: [])
    with pytest.raises(DependencyMissingError, match=r"no faceright engine called 'local' .*pip install"):
        engine_client.open_engine()
