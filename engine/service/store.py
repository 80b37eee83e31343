"""Where the service keeps its jobs: SQLite by default, PostgreSQL for a studio (SQLAlchemy Core).

Every change of a job is committed before it is reported, so a service killed at any moment
and started again reports every job it had (InvokeAI's lesson, not ComfyUI's): finished ones
with their outcome, queued ones queued again in their order, and those that were running as
``failed`` with ``resumable`` and the code ``job.interrupted`` — never as done. Each row names
the service instance that accepted it (``owner``), so several GPU machines can share one
PostgreSQL database and a restart recovers only its own jobs.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from faceright.errors import ConfigError, ServiceError
from faceright.service.protocol import STATES, JobError, JobProgress, JobView

log = logging.getLogger(__name__)

SCHEMA = "faceright.jobs.1"
INTERRUPTED = "job.interrupted"


def now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def database_url(url: str | None, home: Path) -> str:
    """A SQLAlchemy URL for ``[service] jobs_url`` (default: the SQLite file in FACERIGHT_HOME/service/)."""
    if not url:
        return f"sqlite:///{(home / 'service' / 'jobs.sqlite').absolute()}"
    lower = url.lower()
    if lower.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if lower.startswith(("postgresql+", "sqlite:///")):
        return url
    if "://" in url:
        raise ConfigError(f"[service] jobs_url {url.split('://')[0]}://... is not a job store faceright can use; "
                          "give sqlite:///abs/path.sqlite, a file path, or postgresql://user@host/db")
    return f"sqlite:///{Path(url).expanduser().absolute()}"


class JobStore:
    """The jobs table. Methods are safe to call from the web server's and the workers' threads."""

    def __init__(self, url: str, *, owner: str) -> None:
        import sqlalchemy as sa

        self.owner = owner
        self._sa = sa
        self.where = _redact(url)
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"the job store's folder {path.parent} cannot be made ({exc.strerror}); set "
                                  "[service] jobs_url to a writable place") from None
            connect_args = {"check_same_thread": False, "timeout": 30}
        try:
            self.engine = sa.create_engine(url, connect_args=connect_args, future=True)
        except (ImportError, sa.exc.ArgumentError) as exc:
            raise ConfigError(f"the job store {self.where} cannot be used: {exc} (PostgreSQL needs "
                              "pip install 'faceright[postgres]')") from None
        if url.startswith("sqlite:///"):
            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")      # readers never wait for the writer
                cursor.execute("PRAGMA synchronous=FULL")      # a committed job survives a power cut
                cursor.close()
        meta = sa.MetaData()
        self.jobs = sa.Table(
            "service_jobs", meta,
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("seq", sa.BigInteger, nullable=False, index=True),
            sa.Column("owner", sa.String(200), nullable=False, index=True),
            sa.Column("state", sa.String(16), nullable=False, index=True),
            sa.Column("shot_id", sa.Text, nullable=False),
            sa.Column("shot", sa.Text, nullable=False),
            sa.Column("user_name", sa.Text, nullable=False),
            sa.Column("device", sa.Integer),
            sa.Column("attempts", sa.Integer, nullable=False, default=0),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("started_at", sa.String(32)),
            sa.Column("finished_at", sa.String(32)),
            sa.Column("done", sa.Integer, nullable=False, default=0),
            sa.Column("total", sa.Integer),
            sa.Column("fps", sa.Float, nullable=False, default=0.0),
            sa.Column("resumable", sa.Boolean, nullable=False, default=False),
            sa.Column("error", sa.Text),
            sa.Column("outcome", sa.Text),
            sa.Column("ledger", sa.Text),
        )
        self.meta_table = sa.Table("service_meta", meta, sa.Column("key", sa.String(40), primary_key=True),
                                   sa.Column("value", sa.Text, nullable=False))
        try:
            meta.create_all(self.engine)
            with self.engine.begin() as db:
                found = db.execute(sa.select(self.meta_table.c.value).where(self.meta_table.c.key == "schema")).scalar()
                if found is None:
                    db.execute(sa.insert(self.meta_table).values(key="schema", value=SCHEMA))
                elif found != SCHEMA:
                    raise ConfigError(f"the job store {self.where} has the layout {found!r}; this faceright "
                                      f"reads {SCHEMA!r}")
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(f"the job store {self.where} cannot be opened: {_reason(exc)}; check [service] "
                              "jobs_url and that the database is reachable") from None

    # -- writing ----------------------------------------------------------------------------------

    def add(self, view: JobView, shot_json: str, user: str) -> None:
        sa = self._sa
        with self._db() as db:
            seq = (db.execute(sa.select(sa.func.max(self.jobs.c.seq))).scalar() or 0) + 1
            db.execute(sa.insert(self.jobs).values(
                id=view.id, seq=seq, owner=self.owner, state=view.state, shot_id=view.shot_id, shot=shot_json,
                user_name=user, device=view.device, attempts=view.attempts, submitted_at=view.submitted_at,
                done=0, total=None, fps=0.0, resumable=False))

    def update(self, job_id: str, **values: Any) -> None:
        """Set columns of one job (``error``, ``outcome`` and ``ledger`` as JSON-able values)."""
        for name in ("error", "outcome", "ledger"):
            if name in values and values[name] is not None and not isinstance(values[name], str):
                value = values[name]
                values[name] = json.dumps(value.to_json() if hasattr(value, "to_json") else value,
                                          ensure_ascii=False)
        if "state" in values and values["state"] not in STATES:
            raise ValueError(values["state"])
        with self._db() as db:
            db.execute(self._sa.update(self.jobs).where(self.jobs.c.id == job_id).values(**values))

    def recover(self) -> tuple[list[str], list[str]]:
        """After a start: this instance's running jobs become failed-and-resumable; returns
        ``(interrupted ids, queued ids in order)``."""
        sa, jobs = self._sa, self.jobs
        error = json.dumps(JobError(INTERRUPTED, "the service stopped while this job ran; nothing was left under "
                                    "its output's name: resume it").to_json())
        with self._db() as db:
            running = [r[0] for r in db.execute(sa.select(jobs.c.id).where(
                jobs.c.owner == self.owner, jobs.c.state == "running").order_by(jobs.c.seq))]
            if running:
                db.execute(sa.update(jobs).where(jobs.c.id.in_(running)).values(
                    state="failed", resumable=True, error=error, finished_at=now_text()))
            queued = [r[0] for r in db.execute(sa.select(jobs.c.id).where(
                jobs.c.owner == self.owner, jobs.c.state == "queued").order_by(jobs.c.seq))]
        return running, queued

    # -- reading ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobView | None:
        with self._db() as db:
            row = db.execute(self._sa.select(self.jobs).where(self.jobs.c.id == job_id)).mappings().first()
        return None if row is None else _view(row)

    def shot_of(self, job_id: str) -> tuple[str, str] | None:
        """The job's FaceShot JSON and its user."""
        with self._db() as db:
            row = db.execute(self._sa.select(self.jobs.c.shot, self.jobs.c.user_name)
                             .where(self.jobs.c.id == job_id)).first()
        return None if row is None else (row[0], row[1])

    def list(self, *, state: str | None = None, limit: int = 100) -> list[JobView]:
        sa, jobs = self._sa, self.jobs
        query = sa.select(jobs).order_by(jobs.c.seq.desc()).limit(limit)
        if state is not None:
            query = query.where(jobs.c.state == state)
        with self._db() as db:
            return [_view(row) for row in db.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        sa, jobs = self._sa, self.jobs
        with self._db() as db:
            found = dict(db.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)).all())
        return {state: int(found.get(state, 0)) for state in STATES}

    def close(self) -> None:
        self.engine.dispose()

    def _db(self) -> Any:
        store = self

        class _Transaction:
            def __enter__(self) -> Any:
                try:
                    self.context = store.engine.begin()
                    return self.context.__enter__()
                except store._sa.exc.SQLAlchemyError as exc:
                    raise ServiceError(f"the job store {store.where} cannot be reached: {_reason(exc)}",
                                       code="store.unreachable", status=503) from None

            def __exit__(self, *exc: Any) -> Any:
                try:
                    return self.context.__exit__(*exc)
                except store._sa.exc.SQLAlchemyError as error:
                    raise ServiceError(f"the job store {store.where} refused a change: {_reason(error)}",
                                       code="store.unreachable", status=503) from None

        return _Transaction()


def _view(row: Any) -> JobView:
    error = json.loads(row["error"]) if row["error"] else None
    return JobView(
        id=row["id"], state=row["state"], shot_id=row["shot_id"], device=row["device"], attempts=row["attempts"],
        submitted_at=row["submitted_at"], started_at=row["started_at"], finished_at=row["finished_at"],
        progress=JobProgress(row["done"], row["total"], row["fps"]), resumable=bool(row["resumable"]),
        error=JobError.from_json(error) if error else None,
        outcome=json.loads(row["outcome"]) if row["outcome"] else None,
        ledger=json.loads(row["ledger"]) if row["ledger"] else None)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _redact(url: str) -> str:
    from faceright.ledger.backends import redact

    return redact(url)

