"""Ledger settings: the ``[ledger]`` table of the TD's config.

    [ledger]
    url = "postgresql://ledger@db.studio/faceright"   # default: $FACERIGHT_HOME/ledger/ledger.sqlite
    retention_days = 365                               # at least 183: the labeling Measures' six months

The labeling Measures (2025) ask that logs of generated content be kept at least six months,
so a retention below 183 days is refused rather than quietly honoured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from faceright.config import Config, settings_from, tables_of
from faceright.errors import ConfigError

#: six months, the least the labeling Measures allow logs to be kept
MIN_RETENTION_DAYS = 183


@dataclass(frozen=True)
class LedgerSettings:
    url: str | None = None             #: None: the SQLite file in FACERIGHT_HOME/ledger/
    retention_days: int = 365          #: prune keeps every record younger than this
    timeout_s: float = 30.0            #: how long to wait for the database (connect, or another publisher's lock)

    def __post_init__(self) -> None:
        if self.retention_days < MIN_RETENTION_DAYS:
            raise ConfigError(
                f"[ledger] retention_days = {self.retention_days} is too short: the labeling Measures ask "
                f"that logs be kept at least six months; set {MIN_RETENTION_DAYS} days or more (default 365)")
        if self.timeout_s <= 0:
            raise ConfigError(f"[ledger] timeout_s must be positive, got {self.timeout_s}")


def ledger_settings(config: Config | Mapping[str, Any] | None = None, **overrides: Any) -> LedgerSettings:
    """Settings from the config file's ``[ledger]`` table, then ``overrides``."""
    return settings_from(LedgerSettings, tables_of(config).get("ledger"), where="[ledger]", **overrides)
