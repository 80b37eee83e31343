"""The ledger itself: append a publish, read records back, verify the chain, prune past retention.

Every write runs in one transaction that excludes the other writers (see
:mod:`faceright.ledger.backends`): the head (the last sequence and hash, kept in
``ledger_state``) is read, the new record chained to it, and both written before the lock is
released, so concurrent publishers form one chain. The head also makes the deletion of the
last record visible, and pruning leaves an *anchor* (the last pruned record's sequence, hash
and time) from which the rest still verifies.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Mapping

from faceright.config import Config
from faceright.errors import LedgerError
from faceright.findings import Finding, blocking

from .backends import RECORDS, STATE, Backend, connect
from .chain import LedgerRecord, canonical_entry, format_at, parse_at, record_hash
from .settings import LedgerSettings, ledger_settings
from .verify import State, verify_chain

log = logging.getLogger(__name__)

_COLUMNS = "sequence, at, user_name, entry, prev_hash, hash"


class Ledger:
    """An open ledger. Use :func:`open_ledger`; close it (or use it as a context manager)."""

    def __init__(self, backend: Backend, settings: LedgerSettings) -> None:
        self._backend = backend
        self.settings = settings

    @property
    def where(self) -> str:
        """The database, for people: a file path, or a URL without its password."""
        return self._backend.where

    def append(self, entry: Mapping[str, Any], *, user: str, at: datetime | None = None) -> LedgerRecord:
        """Record one publish by ``user`` at ``at`` (default: now, taken under the lock, so default
        times never run backwards along the chain). ``entry`` must be a JSON object."""
        if not isinstance(user, str) or not user.strip():
            raise LedgerError(f"a ledger record needs the user who published (a non-empty name), got {user!r}")
        entry_json = canonical_entry(entry)
        at_text = format_at(at) if at is not None else None
        with self._backend.write():
            state = self._state()
            if state is None:
                raise LedgerError(f"the ledger {self.where} has lost its state row (table {STATE}): it was edited "
                                  "outside faceright; nothing was appended. Run `faceright ledger verify`")
            sequence = state.head_sequence + 1
            at_text = at_text or format_at(datetime.now(timezone.utc))
            digest = record_hash(state.head_hash, sequence, at_text, user, entry_json)
            self._backend.execute(f"INSERT INTO {RECORDS} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                                  (sequence, at_text, user, entry_json.decode("utf-8"), state.head_hash, digest))
            self._backend.execute(f"UPDATE {STATE} SET head_sequence = ?, head_hash = ? WHERE id = 1",
                                  (sequence, digest))
        log.info("ledger %s: record %d by %s", self.where, sequence, user)
        return LedgerRecord(sequence, parse_at(at_text), user, json.loads(entry_json), state.head_hash, digest)

    def records(self, *, last: int | None = None) -> list[LedgerRecord]:
        """Every record (or the ``last`` N), in sequence order."""
        if last is None:
            rows = self._backend.query(f"SELECT {_COLUMNS} FROM {RECORDS} ORDER BY sequence")
        else:
            if isinstance(last, bool) or not isinstance(last, int) or last < 0:
                raise LedgerError(f"last must be a count of records (0 or more), got {last!r}")
            rows = self._backend.query(f"SELECT {_COLUMNS} FROM {RECORDS} ORDER BY sequence DESC LIMIT ?",
                                       (last,))[::-1]
        return [LedgerRecord.from_row(row) for row in rows]

    def count(self) -> int:
        """How many records the ledger holds now."""
        return int(self._backend.query(f"SELECT COUNT(*) FROM {RECORDS}")[0][0])

    def verify(self, *, now: datetime | None = None) -> list[Finding]:
        """Every sign of tampering (see :mod:`faceright.ledger.verify`); an empty list when intact."""
        with self._backend.snapshot():
            return self._verify(now)

    def _verify(self, now: datetime | None) -> list[Finding]:
        rows = self._backend.query(f"SELECT {_COLUMNS} FROM {RECORDS} ORDER BY sequence")
        return verify_chain(rows, self._state(), retention_days=self.settings.retention_days,
                            now=now or datetime.now(timezone.utc))

    def prune(self, now: datetime | None = None) -> int:
        """Remove the oldest records dated more than ``retention_days`` before ``now``, stopping at
        the first younger one, and anchor the chain at the last removed. Returns how many went.

        A ledger that fails :meth:`verify` is left whole (it is evidence) and refused."""
        now = now or datetime.now(timezone.utc)
        format_at(now)                      # refuses a naive time
        cutoff = now - timedelta(days=self.settings.retention_days)
        with self._backend.write():
            findings = blocking(self._verify(now))
            if findings:
                raise LedgerError(f"the ledger {self.where} fails verification ({len(findings)} finding(s), "
                                  f"first: {findings[0].message}); nothing was pruned: keep it as evidence "
                                  "and see `faceright ledger verify`")
            last: tuple[int, str, str] | None = None
            for sequence, at, digest in self._backend.query(
                    f"SELECT sequence, at, hash FROM {RECORDS} ORDER BY sequence"):
                if parse_at(at) >= cutoff:
                    break
                last = (sequence, at, digest)
            if last is None:
                return 0
            removed = self._backend.execute(f"DELETE FROM {RECORDS} WHERE sequence <= ?", (last[0],))
            self._backend.execute(f"UPDATE {STATE} SET anchor_sequence = ?, anchor_hash = ?, anchor_at = ? "
                                  "WHERE id = 1", (last[0], last[2], last[1]))
        log.info("ledger %s: pruned %d record(s) up to %d (older than %d days)", self.where, removed, last[0],
                 self.settings.retention_days)
        return removed

    def _state(self) -> State | None:
        rows = self._backend.query(f"SELECT anchor_sequence, anchor_hash, anchor_at, head_sequence, head_hash "
                                   f"FROM {STATE} WHERE id = 1")
        if not rows:
            return None
        anchor_sequence, anchor_hash, anchor_at, head_sequence, head_hash = rows[0]
        return State(int(anchor_sequence), str(anchor_hash), anchor_at, int(head_sequence), str(head_hash))

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def default_url(config: Config) -> str:
    """``[ledger] url``, else the SQLite file ``$FACERIGHT_HOME/ledger/ledger.sqlite``."""
    return config.ledger.url or str(config.home / "ledger" / "ledger.sqlite")


def open_ledger(config: Config, url: str | None = None, *, create: bool = True) -> Ledger:
    """Open the ledger ``url`` names (default: :func:`default_url`). With ``create=False`` (readers:
    verify, show, export) a ledger that does not exist yet is a :class:`LedgerError`, not made."""
    settings = config.ledger if url is None else ledger_settings(config, url=url)
    backend = connect(url or default_url(config), timeout_s=settings.timeout_s, create=create)
    return Ledger(backend, settings)
