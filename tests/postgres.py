"""A real PostgreSQL server for the tests: Debian's server programs, a throw-away cluster.

``postgres_server`` (one per test session) runs ``initdb`` into a temporary folder and starts
``postgres`` listening only on a unix socket in that folder (no TCP port to collide on); it is
stopped and removed when the session ends. ``postgres_url`` gives each test its own schema of
that server's database (through the URL's ``options=-c search_path=...``), so tests never see
each other's tables. initdb refuses to run as root: as root, the server runs as the
``postgres`` user (created if missing), which owns the folder.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_USER = "postgres"
MISSING = ("PostgreSQL's server programs are missing (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): "
           ".ci/run installs Debian's postgresql; on this machine: apt-get install postgresql")


@dataclass(frozen=True)
class PostgresServer:
    bindir: Path
    folder: Path            #: holds data/ and the server's unix socket

    @property
    def url(self) -> str:
        """The server's ``postgres`` database as the superuser, through the socket."""
        return f"postgresql://{SERVER_USER}@/postgres?host={self.folder}"


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def server_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    pytest.fail(MISSING, pytrace=False)


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else command


def _ensure_server_user() -> None:
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True)


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True)
    if done.returncode != 0:
        extra = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else ""
        pytest.fail(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}\n{extra}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = server_bindir()
    # not pytest's tmp_path: that lies under a root-only folder the server user cannot enter
    folder = Path(tempfile.mkdtemp(prefix="faceright-pg-"))
    if os.geteuid() == 0:
        _ensure_server_user()
        user = pwd.getpwnam(SERVER_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, log = folder / "data", folder / "server.log"
    server = PostgresServer(bindir, folder)
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-U", SERVER_USER, "--auth=trust", "--no-sync",
              "--encoding=UTF8", "--locale=C"], "initdb")
        options = f"-k {folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
             "starting postgres", log)
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                            "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A URL whose tables go to a schema of this test's own."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_server.url}&options=-c%20search_path%3D{schema}"
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")
