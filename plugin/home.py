"""Where faceright keeps its state: ``FACERIGHT_HOME``, else the user's data folder.

Keyring, caches and config all live below this one folder so that a TD (or a test) can
isolate a whole installation by setting one variable.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "FACERIGHT_HOME"


def faceright_home(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """The state folder (not created here)."""
    env = os.environ if environ is None else environ
    value = env.get(HOME_ENV)
    if value:
        return Path(value).expanduser()
    return Path(platformdirs.user_data_dir("faceright", appauthor=False))
