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
import socket
from dataclasses import dataclass
from typing import Any, Callable

from faceright.config import Config
from faceright.errors import ConfigError
from faceright.service.settings import ServiceSettings, split_listen

from .dispatch import Dispatcher
from .runner import instance_name, run_job
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
    store = JobStore(database_url(settings.jobs_url, config.home), owner=instance_name(listen))
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    dispatcher = Dispatcher(config, settings, store, engine_factory=engine_factory or local_engine(config),
                            runner=run_job, warm_up=warm_up)
    from .app import create_app

    app = create_app(dispatcher, token=token, loopback=loopback)
    shown = f"[{host}]" if ":" in host else host
    return Service(settings, store, dispatcher, app, sock, f"http://{shown}:{bound}")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
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
