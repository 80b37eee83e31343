"""`faceright engine serve`: the job store, the device queues and the HTTP API on uvicorn.

The service listens on loopback unless told otherwise, and refuses to start on any other
address without a token (FaceFusion's API branch accepted sessions without the key it was told
to require). It refuses to start without path roots too: media are opened only inside them.
SIGTERM and Ctrl-C stop it gracefully: no new jobs, running ones end between frames and are
reported failed-and-resumable, queued ones stay queued for the next start.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from faceright.atomic import make_folder, write_replacing
from faceright.config import Config
from faceright.errors import ConfigError
from faceright.service.settings import ServiceSettings, split_listen

from .dispatch import Dispatcher
from .runner import run_job
from .store import JobStore, database_url

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_engine(config: Config) -> Callable[[int], Any]:
    def make(device: int) -> Any:
        from faceright.engine.jobs.local import LocalEngine

        return LocalEngine(config, device_id=device)

    return make


def warm_up(engine: Any) -> None:
    """Load the detector, recogniser and the default swapper now, so the first job starts warm."""
    engine.runtime.analyser()
    engine.runtime.swapper()


@dataclass
class Service:
    """A built service: its store, dispatcher, app and bound socket (not yet serving)."""

    settings: ServiceSettings
    store: JobStore
    dispatcher: Dispatcher
    app: Any
    sock: socket.socket
    url: str
    lock: Any = None      #: the open instance lock (see claim_instance), held while the service lives

    def run(self, *, on_ready: Callable[[Service], None] | None = None) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=5, limit_concurrency=512, server_header=False)
        server = uvicorn.Server(config)
        interrupted = self.dispatcher.start()
        if interrupted:
            log.warning("%d job(s) were running when the service last stopped; they are reported failed and "
                        "resumable (`faceright engine resume ID`)", len(interrupted))
        if on_ready is not None:
            on_ready(self)
        try:
            server.run(sockets=[self.sock])
        finally:
            self.dispatcher.stop()
            self.store.close()
            self.sock.close()
            if self.lock is not None:
                self.lock.close()


def build_service(config: Config, settings: ServiceSettings, *, listen: str | None = None,
                  engine_factory: Callable[[int], Any] | None = None) -> Service:
    listen = listen or settings.listen
    host, port = split_listen(listen)
    token = settings.token()
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise ConfigError(f"refusing to listen on {listen} without a token: anyone on the network could swap "
                          "faces with this studio's licenses. Set FACERIGHT_SERVICE_TOKEN or [service] token_file "
                          "(and give artists the same), or listen on 127.0.0.1")
    if not config.paths.roots:
        raise ConfigError("the service opens media only inside path roots, and the config has none: add a "
                          "[paths.NAME] table (e.g. [paths.show] linux = \"/mnt/show\") and name media show:...")
    instance, lock = claim_instance(config.home)
    store = JobStore(database_url(settings.jobs_url, config.home), owner=instance)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    dispatcher = Dispatcher(config, settings, store, engine_factory=engine_factory or local_engine(config),
                            runner=run_job, warm_up=warm_up)
    from .app import create_app

    app = create_app(dispatcher, token=token, loopback=loopback)
    shown = f"[{host}]" if ":" in host else host
    return Service(settings, store, dispatcher, app, sock, f"http://{shown}:{bound}", lock)


def claim_instance(home: Path) -> tuple[str, Any]:
    """This service's name in the job store, and the lock that makes it the only one of its home.

    The name is the host's and an id kept in ``$FACERIGHT_HOME/service/instance-id``, so a service
    restarted on another port still recovers its own jobs; a second service started with the same
    home (it would recover, and so interrupt, the first one's running jobs) is refused."""
    folder = home / "service"
    try:
        make_folder(folder)
        lock = (folder / "instance.lock").open("a+")
    except OSError as exc:
        raise ConfigError(f"the service's state folder {folder} cannot be used ({exc.strerror}); give the service "
                          "a writable FACERIGHT_HOME") from None
    try:
        _lock_exclusively(lock)
    except OSError:
        lock.close()
        raise ConfigError(f"another faceright engine service runs with this FACERIGHT_HOME ({home}); stop it, or "
                          "give each service its own home") from None
    id_file = folder / "instance-id"
    try:
        instance = id_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        instance = ""
    if not re.fullmatch(r"[0-9a-f]{32}", instance):
        instance = uuid.uuid4().hex
        write_replacing(id_file, (instance + "\n").encode("ascii"))
    return f"{socket.gethostname()}/{instance}", lock


def _lock_exclusively(file: Any) -> None:
    """Lock ``file`` for this process (released when it closes or the process dies); OSError when taken."""
    try:
        import fcntl
    except ImportError:          # Windows
        import msvcrt

        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets of that protocol; without it
    # every keep-alive answer waits ~40 ms for Nagle and delayed ACKs
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror} (another service there? choose another "
                          "port with --listen HOST:PORT)") from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock
