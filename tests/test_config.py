"""One Config: read once, unknown tables and keys refused with the closest name, env read at the edge."""
from __future__ import annotations

import pytest

from faceright.cli.main import main
from faceright.config import Config
from faceright.errors import ConfigError

pytestmark = pytest.mark.hostside


def write(home, text: str):
    (home / "config.toml").write_text(text)


def test_a_misspelt_table_is_refused_with_the_closest_name(isolated_home):
    write(isolated_home, '[enigne]\nmodels_dir = "/x"\n')
    with pytest.raises(ConfigError, match=r"unknown table \[enigne\] .*did you mean 'engine'\?"):
        Config.load()


def test_a_misspelt_key_is_refused_with_the_closest_name(isolated_home):
    write(isolated_home, '[licenses]\nrevocation_mod = "offline"\n')
    with pytest.raises(ConfigError, match=r"revocation_mod in \[licenses\] \(did you mean 'revocation_mode'\?\)"):
        Config.load().licenses


def test_a_top_level_key_that_is_not_a_table_is_refused(isolated_home):
    write(isolated_home, 'labels = "AI"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        Config.load()


def test_every_command_refuses_a_bad_config_with_one_line(isolated_home, capsys):
    write(isolated_home, "[labls]\n")
    assert main(["keyring", "list"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'labels'" in err and "Traceback" not in err


def test_a_config_variable_naming_a_missing_file_is_an_error(isolated_home, monkeypatch, tmp_path):
    monkeypatch.setenv("FACERIGHT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="FACERIGHT_CONFIG names .*nope.toml, which does not exist"):
        Config.load()


def test_the_environment_is_read_once_when_the_config_is_built(isolated_home, monkeypatch, tmp_path):
    write(isolated_home, '[labels]\nprovider_code = "001191110000MA0000000X10002"\n[paths.show]\nlinux = "/mnt/show"\n')
    config = Config.load()
    labels = config.labels
    monkeypatch.setenv("FACERIGHT_HOME", str(tmp_path / "elsewhere"))
    assert config.home == isolated_home
    assert labels.signing_key_path == isolated_home / "labels" / "aigc-ed25519.pem"
    assert config.labels.signing_key_path == isolated_home / "labels" / "aigc-ed25519.pem"
    assert config.keyring().path == isolated_home / "keyring" / "keyring.json"
    assert config.paths.roots["show"]["linux"] == "/mnt/show"


def test_the_engine_settings_resolve_their_folders_once(isolated_home, monkeypatch, tmp_path):
    pytest.importorskip("onnx", reason="the engine's own dependencies (onnx) are absent from the host-side install")
    from faceright.engine.settings import engine_settings

    monkeypatch.setenv("FACERIGHT_MODELS", str(tmp_path / "models"))
    config = Config.load()
    monkeypatch.setenv("FACERIGHT_MODELS", str(tmp_path / "other"))
    settings = engine_settings(config)
    assert settings.models_folder == tmp_path / "models"
    assert settings.trt_cache_folder == isolated_home / "trt-cache"
