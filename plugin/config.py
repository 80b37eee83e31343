"""The TD's configuration: ``$FACERIGHT_HOME/config.toml``, one table per area.

:class:`Config` is read once, at the edge (the CLI's ``main``, a host's start-up), together
with the environment (``FACERIGHT_HOME``, ``FACERIGHT_CONFIG``, ``FACERIGHT_MODELS``), and
passed explicitly from there. A table faceright does not know (``[enigne]``) is refused with
the closest known name. Each area (engine, labels, ledger, licenses, paths) owns a frozen settings
dataclass built with :func:`settings_from` from its table, so unknown keys and wrong types
are refused with a message naming the file, the table and the key.

    [engine]
    models_dir = "/studio/models"
    providers = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, TypeVar

from .compat import tomllib
from .errors import ConfigError
from .home import faceright_home

CONFIG_ENV = "FACERIGHT_CONFIG"
MODELS_ENV = "FACERIGHT_MODELS"
T = TypeVar("T")

#: the tables a config file may hold, and what each configures
KNOWN_TABLES = {
    "engine": "models, providers and the pipeline",
    "labels": "the AIGC label policy",
    "ledger": "the publish ledger",
    "licenses": "license verification and revocation",
    "paths": "media path roots per platform",
    "service": "the engine service: where clients find it, how it listens, queues and stores jobs",
}


def _closest(name: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_tables(tables: Mapping[str, Any], where: str) -> None:
    """Refuse a table faceright does not know, or a top-level key that is not a table."""
    for name, value in tables.items():
        if name not in KNOWN_TABLES:
            raise ConfigError(f"unknown table [{name}] in {where}{_closest(name, KNOWN_TABLES)}; "
                              f"known tables: {', '.join(f'[{t}]' for t in KNOWN_TABLES)}")
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name} in {where} must be a table ([{name}] followed by its keys)")


@dataclass(frozen=True)
class Config:
    """The TD's configuration and environment, read once. Areas' settings are built on first use."""

    tables: Mapping[str, Any] = field(default_factory=dict)
    home: Path = field(default_factory=lambda: faceright_home())
    source: Path | None = None              #: the file read, if any
    models_dir_env: str | None = None       #: FACERIGHT_MODELS as it was when the config was read

    def __post_init__(self) -> None:
        check_tables(self.tables, str(self.source) if self.source else "the configuration")

    @classmethod
    def load(cls, path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
        env = dict(os.environ if environ is None else environ)
        if path is None and env.get(CONFIG_ENV) and not config_path(env).exists():
            raise ConfigError(f"{CONFIG_ENV} names {config_path(env)}, which does not exist; fix the variable "
                              "or unset it to use FACERIGHT_HOME/config.toml")
        home = faceright_home(env)
        check_home(home)
        path = config_path(env) if path is None else path
        return cls(load_config(path), home, path if path.exists() else None,
                   env.get(MODELS_ENV) or None)

    def table(self, name: str) -> Mapping[str, Any]:
        if name not in KNOWN_TABLES:
            raise KeyError(name)
        return self.tables.get(name) or {}

    @cached_property
    def labels(self) -> Any:
        from .labels.policy import label_settings

        return label_settings(self)

    @cached_property
    def ledger(self) -> Any:
        from .ledger.settings import ledger_settings

        return ledger_settings(self)

    @cached_property
    def licenses(self) -> Any:
        from .licenses.settings import license_settings

        return license_settings(self)

    @cached_property
    def paths(self) -> Any:
        from .paths import PathRoots

        return PathRoots.from_table(self.table("paths"))

    def keyring(self) -> Any:
        from .licenses.keyring import Keyring

        return Keyring(self.home / "keyring" / "keyring.json")

    def revocation_store(self) -> Any:
        from .licenses.revocation import RevocationStore

        return RevocationStore(self.home / "revocations")


def check_home(home: Path) -> None:
    """Refuse a state folder that cannot be a folder: it, or a folder above it, is a file.

    A missing folder is fine (it is created on first write); an unwritable one is refused when
    something is written there, so a read-only shared installation still reads."""
    blocker = next((p for p in (home, *home.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        where = "is a file" if blocker == home else f"cannot be a folder: {blocker} is a file"
        raise ConfigError(f"FACERIGHT_HOME {home} {where}, not a folder; point FACERIGHT_HOME at a folder "
                          "(it is created if missing) or move the file away")


def tables_of(config: Config | Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The tables of ``config`` (a :class:`Config`, already-parsed tables, or None: read the file)."""
    if config is None:
        return Config.load().tables
    if isinstance(config, Config):
        return config.tables
    return config


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return faceright_home(dict(env)) / "config.toml"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """All tables of the config file; an absent file is an empty config."""
    path = config_path() if path is None else path
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}), so it is not a TOML file; write it as UTF-8 TOML, or point "
                          f"{CONFIG_ENV} at the right file") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
    check_tables(data, f"config file {path}")
    return data


def settings_from(cls: type[T], table: Mapping[str, Any] | None, *, where: str, **overrides: Any) -> T:
    """Build the frozen dataclass ``cls`` from a config table, refusing unknown keys.

    ``overrides`` (e.g. CLI options) win over the table; ``None`` overrides are ignored.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = dict(table or {})
    unknown = sorted(set(values) - set(fields))
    if unknown:
        hint = _closest(unknown[0], fields)
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} in {where}{hint}; known keys: {', '.join(sorted(fields))}"
        )
    values.update({k: v for k, v in overrides.items() if v is not None})
    hints = typing.get_type_hints(cls)
    for name, value in list(values.items()):
        values[name] = _coerce(value, hints[name], f"{where}.{name}")
    return cls(**values)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: unexpected value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {type(value).__name__}")
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{where}[]") for v in value)
    if hint is Any:
        return value
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where} must be a path string, got {type(value).__name__}")
        return Path(value).expanduser()
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type):
        if hint is not bool and isinstance(value, bool):
            raise ConfigError(f"{where} must be {hint.__name__}, got a boolean")
        if not isinstance(value, hint):
            raise ConfigError(f"{where} must be {hint.__name__}, got {type(value).__name__} {value!r}")
    return value
