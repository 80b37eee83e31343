"""Fixtures of the label tests (a pytest plugin: ``pytest_plugins = ("label_fixtures",)``).

A studio key and settings, one OCR backend for the run, and a 3 s plate made from the
astronaut still; the helpers that use them live in label_support.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceright.labels.aigc import write_keypair
from faceright.labels.ocr import default_backend
from faceright.labels.policy import LabelSettings
from label_support import PROVIDER, RATE, SIZE


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("studio-key")
    private, public = folder / "aigc.pem", folder / "aigc.pub.pem"
    write_keypair(private, public)
    return private, public


@pytest.fixture(scope="session")
def settings(keys) -> LabelSettings:
    return LabelSettings(provider_code=PROVIDER, signing_key=keys[0], public_key=keys[1])


@pytest.fixture(scope="session")
def ocr():
    """One OCR backend for the whole run: its sessions are the expensive part."""
    return default_backend()


@pytest.fixture(scope="session")
def still(astronaut) -> np.ndarray:
    return astronaut


@pytest.fixture(scope="session")
def plate(tmp_path_factory, still) -> Path:
    """3 s of 480×270 H.264 + AAC from the astronaut still, no label."""
    from clips import make_clip

    return make_clip(tmp_path_factory.mktemp("plate") / "plate.mp4", still, frames=72, size=SIZE, rate=RATE)
