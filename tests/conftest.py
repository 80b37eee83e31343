"""Shared fixtures: real face images from installed packages, an isolated FACERIGHT_HOME."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest


def _package_file(package: str, *parts: str) -> Path:
    path = Path(str(resources.files(package).joinpath(*parts)))
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: is {package} installed (tests/oracles.txt, the test extra)?")
    return path


def read_bgr(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return image


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``-m hostside`` (CI's Python 3.10 job, no onnxruntime) import only the modules marked
    so: the others may import onnxruntime or insightface at the top."""
    if config.getoption("markexpr") == "hostside" and collection_path.name.startswith("test_") \
            and collection_path.suffix == ".py" \
            and "pytestmark = pytest.mark.hostside" not in collection_path.read_text(encoding="utf-8"):
        return True
    return None


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own FACERIGHT_HOME, so no state leaks between tests or from the user."""
    home = tmp_path_factory.mktemp("faceright-home")
    monkeypatch.setenv("FACERIGHT_HOME", str(home))
    monkeypatch.delenv("FACERIGHT_MODELS", raising=False)
    monkeypatch.delenv("FACERIGHT_CONFIG", raising=False)
    return home


#: a well-formed 27-character provider code (TC260 shape: 00 + subject + USCC + service)
TEST_PROVIDER_CODE = "001191110000MA0000000X10002"


@pytest.fixture
def studio_labels(isolated_home) -> Path:
    """A studio whose AIGC label is configured: provider code and signing key in FACERIGHT_HOME."""
    from faceright.labels.aigc import write_keypair

    folder = isolated_home / "labels"
    write_keypair(folder / "aigc-ed25519.pem", folder / "aigc-ed25519.pub.pem")
    (isolated_home / "config.toml").write_text(f'[labels]\nprovider_code = "{TEST_PROVIDER_CODE}"\n')
    return isolated_home


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """An empty user models folder, named by FACERIGHT_MODELS (the shipped models still count)."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("FACERIGHT_MODELS", str(folder))
    return folder


@pytest.fixture(scope="session")
def t1_path() -> Path:
    """insightface's group photo: 6 faces, 1280×886."""
    return _package_file("insightface", "data", "images", "t1.jpg")


@pytest.fixture(scope="session")
def tom_hanks_path() -> Path:
    """insightface's 112×112 already-aligned face."""
    return _package_file("insightface", "data", "images", "Tom_Hanks_54745.png")


@pytest.fixture(scope="session")
def astronaut_path() -> Path:
    """scikit-image's astronaut (Eileen Collins), public domain, 512×512, one face."""
    return _package_file("skimage", "data", "astronaut.png")


@pytest.fixture(scope="session")
def grace_hopper_path() -> Path:
    """matplotlib's Grace Hopper, 512×600, one face."""
    return _package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")


@pytest.fixture(scope="session")
def t1(t1_path) -> np.ndarray:
    return read_bgr(t1_path)


@pytest.fixture(scope="session")
def astronaut(astronaut_path) -> np.ndarray:
    return read_bgr(astronaut_path)


@pytest.fixture(scope="session")
def grace_hopper(grace_hopper_path) -> np.ndarray:
    return read_bgr(grace_hopper_path)
