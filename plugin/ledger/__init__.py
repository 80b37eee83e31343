"""The publish ledger: an append-only, hash-chained record of every publish (SQLite or PostgreSQL).

    from faceright.ledger import open_ledger

    with open_ledger(config) as ledger:
        ledger.append({"shot": "ep01_sh010", ...}, user="mei")
        findings = ledger.verify()          # [] when no record was edited, moved or deleted
"""
from .chain import GENESIS, LedgerRecord
from .ledger import Ledger, default_url, open_ledger
from .settings import MIN_RETENTION_DAYS, LedgerSettings, ledger_settings

__all__ = ["GENESIS", "Ledger", "LedgerRecord", "LedgerSettings", "MIN_RETENTION_DAYS", "default_url",
           "ledger_settings", "open_ledger"]
