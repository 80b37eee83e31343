"""Where the ledger lives: a SQLite file (stdlib ``sqlite3``) or a PostgreSQL database (``psycopg`` 3).

A URL chooses: ``sqlite:///abs/path.sqlite`` or a plain path is a SQLite file,
``postgresql://user@host/db`` (or ``postgres://``) a server. Both backends run the same SQL
(``?`` placeholders; the PostgreSQL one turns them into ``%s``) and differ only in how a
writer excludes the others, so that two publishers never take the same sequence number:

- SQLite: ``BEGIN IMMEDIATE`` takes the file's write lock before the head is read; a second
  writer waits up to ``timeout_s`` (the busy timeout);
- PostgreSQL: ``LOCK TABLE ledger_records IN EXCLUSIVE MODE`` inside the transaction, released
  at commit; readers are not blocked, a second writer waits up to ``timeout_s`` (lock_timeout).

Readers take one consistent snapshot (a deferred SQLite transaction; a REPEATABLE READ
transaction on PostgreSQL), so a verify that runs while someone publishes sees a whole chain.
Driver errors become :class:`~faceright.errors.LedgerError` naming the database (a URL's
password is never shown). Append-only is the ledger's contract, not the database's: on a
shared server, grant the publishing role only SELECT and INSERT/UPDATE on these two tables,
and let ``faceright ledger verify`` catch what a superuser changes by hand.
"""
from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from faceright.atomic import make_folder
from faceright.errors import ConfigError, DependencyMissingError, LedgerError

from .chain import GENESIS

log = logging.getLogger(__name__)

#: the label of the tables' layout, kept in ledger_state
SCHEMA = "faceright.ledger.1"
RECORDS = "ledger_records"
STATE = "ledger_state"

_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {RECORDS} (
        sequence BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        user_name TEXT NOT NULL,
        entry TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    # one row: where the chain starts (the last pruned record, or genesis) and where it ends
    f"""CREATE TABLE IF NOT EXISTS {STATE} (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        schema TEXT NOT NULL,
        anchor_sequence BIGINT NOT NULL,
        anchor_hash TEXT NOT NULL,
        anchor_at TEXT,
        head_sequence BIGINT NOT NULL,
        head_hash TEXT NOT NULL
    )""",
    f"""INSERT INTO {STATE} (id, schema, anchor_sequence, anchor_hash, anchor_at, head_sequence, head_hash)
        VALUES (1, '{SCHEMA}', 0, '{GENESIS}', NULL, 0, '{GENESIS}') ON CONFLICT DO NOTHING""",
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
POSTGRES_INSTALL = "pip install 'faceright[postgres]'"


class Backend:
    """One open connection to the ledger's database; see the module for the two kinds."""

    kind: str = ""
    #: the database, for messages (a path, or a URL without its password)
    where: str = ""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        raise NotImplementedError

    def write(self) -> Any:
        """A context manager: one transaction that excludes every other writer until it ends."""
        raise NotImplementedError

    def snapshot(self) -> Any:
        """A context manager: one transaction whose reads all see the same committed state."""
        raise NotImplementedError

    def tables(self) -> set[str]:
        raise NotImplementedError

    def create_schema(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# -- SQLite ----------------------------------------------------------------------------------------


class SQLiteBackend(Backend):
    kind = "sqlite"

    def __init__(self, path: Path, *, timeout_s: float, create: bool) -> None:
        self.path = path
        self.where = str(path)
        if not path.exists():
            if not create:
                raise LedgerError(f"there is no ledger at {path}: nothing has been published with it yet, "
                                  "or the path is wrong (give the ledger's file or URL with --url, or set "
                                  "[ledger] url in the config)")
            make_folder(path.parent)
        if path.is_dir():
            raise LedgerError(f"the ledger {path} is a folder; give the ledger's .sqlite file")
        with self._errors("open"):
            # isolation_level=None: no implicit transactions; each method says where one begins
            self.connection = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LedgerError(f"the ledger {self.where} stayed locked by another publisher past the "
                                  "timeout ([ledger] timeout_s); try again") from exc
            raise LedgerError(f"cannot {action} the ledger {self.where}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"cannot {action} the ledger {self.where}: {exc} (is it a faceright ledger, "
                              "a SQLite file?)") from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors("read"):
            return self.connection.execute(sql, tuple(params)).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._errors("write"):
            return self.connection.execute(sql, tuple(params)).rowcount

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        with self._errors("lock"):
            self.connection.execute(begin)
        try:
            yield
        except BaseException:
            self.connection.rollback()
            raise
        with self._errors("commit to"):
            self.connection.execute("COMMIT")

    def write(self) -> Any:
        return self._transaction("BEGIN IMMEDIATE")

    def snapshot(self) -> Any:
        return self._transaction("BEGIN")

    def tables(self) -> set[str]:
        rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}

    def create_schema(self) -> None:
        with self.write():
            for statement in _DDL:
                self.execute(statement)

    def close(self) -> None:
        self.connection.close()


# -- PostgreSQL ------------------------------------------------------------------------------------


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "the PostgreSQL URL given"


class PostgresBackend(Backend):
    kind = "postgresql"

    def __init__(self, url: str, *, timeout_s: float) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise DependencyMissingError(
                f"a PostgreSQL ledger ({redact(url)}) needs psycopg 3: {POSTGRES_INSTALL}") from exc
        self._psycopg = psycopg
        self.where = redact(url)
        with self._errors("reach"):
            self.connection = psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(timeout_s)))
        try:
            self.execute(f"SET lock_timeout = {int(timeout_s * 1000)}")
        except BaseException:
            self.connection.close()
            raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except self._psycopg.errors.LockNotAvailable as exc:
            raise LedgerError(f"the ledger {self.where} stayed locked by another publisher past the timeout "
                              "([ledger] timeout_s); try again") from exc
        except self._psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LedgerError(f"cannot {action} the ledger database {self.where}: {reason}; check the URL "
                              "([ledger] url or --url) and that the server is running") from exc
        except self._psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LedgerError(f"cannot {action} the ledger database {self.where}: {reason}") from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors("read"):
            return self.connection.execute(sql.replace("?", "%s"), tuple(params)).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._errors("write"):
            return self.connection.execute(sql.replace("?", "%s"), tuple(params)).rowcount

    @contextmanager
    def _transaction(self, first: str) -> Iterator[None]:
        # the body's own statements raise LedgerError already; this catches BEGIN, COMMIT, ROLLBACK
        with self._errors("use"), self.connection.transaction():
            self.execute(first)
            yield

    def write(self) -> Any:
        return self._transaction(f"LOCK TABLE {RECORDS} IN EXCLUSIVE MODE")

    def snapshot(self) -> Any:
        return self._transaction("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def tables(self) -> set[str]:
        rows = self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {name for (name,) in rows}

    def create_schema(self) -> None:
        # CREATE TABLE IF NOT EXISTS races with itself; one transaction-level lock makes it one at a time
        with self._errors("create"), self.connection.transaction():
            self.connection.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.faceright.ledger'))")
            for statement in _DDL:
                self.connection.execute(statement)

    def close(self) -> None:
        self.connection.close()


# -- choosing ---------------------------------------------------------------------------------------


def connect(url: str, *, timeout_s: float, create: bool) -> Backend:
    """The backend ``url`` names (see the module), with the ledger's tables made when ``create``."""
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    backend: Backend
    if scheme in ("postgresql", "postgres"):
        backend = PostgresBackend(url, timeout_s=timeout_s)
    elif scheme is None or scheme == "sqlite":
        backend = SQLiteBackend(sqlite_path(url), timeout_s=timeout_s, create=create)
    else:
        raise ConfigError(f"the ledger URL {redact(url)} has the scheme {scheme}://, which faceright cannot "
                          "use; give sqlite:///abs/path.sqlite, a file path, or postgresql://user@host/db")
    try:
        found = backend.tables()
        if {RECORDS, STATE} <= found:
            check_schema(backend)
        elif found & {RECORDS, STATE}:
            lacking = ", ".join(sorted({RECORDS, STATE} - found))
            raise LedgerError(f"the ledger {backend.where} lacks its table {lacking}: it was edited outside "
                              "faceright; nothing is read or written: restore the database from a backup")
        elif create:
            backend.create_schema()
        else:
            raise LedgerError(f"{backend.where} holds no faceright ledger (no {RECORDS} table): nothing has "
                              "been published to it yet, or the URL is wrong")
    except BaseException:
        backend.close()
        raise
    return backend


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///abs/path`` URL or a plain path (``~`` expanded, made absolute)."""
    if url.lower().startswith("sqlite://"):
        rest = url[len("sqlite://"):]
        if not rest.startswith("/"):
            raise ConfigError(f"the ledger URL {url} must name an absolute path: sqlite:///abs/path.sqlite "
                              "(three slashes), or give the path alone")
        return Path(rest)
    if not url.strip():
        raise ConfigError("the ledger URL is empty; give sqlite:///abs/path.sqlite, a path, or postgresql://...")
    return Path(url).expanduser().absolute()


def check_schema(backend: Backend) -> None:
    rows = backend.query(f"SELECT schema FROM {STATE} WHERE id = 1")
    if rows and rows[0][0] != SCHEMA:
        raise LedgerError(f"the ledger {backend.where} has the layout {rows[0][0]!r}; this faceright reads "
                          f"{SCHEMA!r} (upgrade faceright to read it)")
