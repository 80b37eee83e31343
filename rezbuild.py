"""Rez build step: copy the four source folders into {root}/python/faceright and add the CLI.

It also writes a ``faceright-VERSION.dist-info`` beside the package with the entry points
of pyproject.toml: the core finds the engine's parts (the local engine, the OCR backend, the
engine's commands) through them, exactly as in a pip install.

Called by ``rez-build`` through ``build_command`` in package.py. With ``install`` as the
argument it copies into ``$REZ_BUILD_INSTALL_PATH``, otherwise into ``$REZ_BUILD_PATH``.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

FOLDERS = {"plugin": "faceright", "engine": "faceright/engine", "hosts": "faceright/hosts", "validators": "faceright/validators"}
LAUNCHER = """#!/usr/bin/env python3
from faceright.cli.main import main
raise SystemExit(main())
"""


def build(source: Path, target: Path) -> None:
    python = target / "python"
    if python.exists():
        shutil.rmtree(python)
    for folder, package in FOLDERS.items():
        shutil.copytree(source / folder, python / package, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    write_dist_info(source / "pyproject.toml", python)
    bin_dir = target / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    launcher = bin_dir / "faceright"
    launcher.write_text(LAUNCHER)
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def write_dist_info(pyproject: Path, python: Path) -> Path:
    """``faceright-VERSION.dist-info`` (METADATA + entry_points.txt) in ``python``, from ``pyproject``."""
    try:
        import tomllib
    except ImportError:   # Python 3.10
        import tomli as tomllib
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    info = python / f"{project['name']}-{project['version']}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
                                   encoding="utf-8")
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    lines = []
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    return info


if __name__ == "__main__":
    source = Path(os.environ.get("REZ_BUILD_SOURCE_PATH", Path(__file__).parent))
    install = len(sys.argv) > 1 and sys.argv[1] == "install"
    target = Path(os.environ["REZ_BUILD_INSTALL_PATH" if install else "REZ_BUILD_PATH"])
    build(source, target)
