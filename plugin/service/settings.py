"""The ``[service]`` table: where clients find the engine service, and how it listens, queues and stores.

    [service]
    url = "http://gpu01.studio:8765"        # clients (hosts, gates, CLI) use this service; unset: in-process
    listen = "127.0.0.1:8765"               # `faceright engine serve` (loopback unless told otherwise)
    token_file = "/studio/secrets/faceright-token"   # required to listen beyond loopback; env wins
    jobs_url = "postgresql://faceright@db/jobs"      # default: $FACERIGHT_HOME/service/jobs.sqlite
    devices = [0]                           # one queue per GPU ([engine] device_id of each)
    max_queued = 16                         # waiting jobs over all devices; more answer 429
    max_body_bytes = 262144                 # a FaceShot is a few KB

The token is a shared secret, so it is read from a file (or ``FACERIGHT_SERVICE_TOKEN``),
never written into the config itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from faceright.config import Config, settings_from, tables_of
from faceright.errors import ConfigError

TOKEN_ENV = "FACERIGHT_SERVICE_TOKEN"
URL_ENV = "FACERIGHT_SERVICE_URL"
DEFAULT_LISTEN = "127.0.0.1:8765"
#: a token shorter than this is refused: it would be guessed
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ServiceSettings:
    url: str | None = None               #: clients: the service's base URL (None: the engine runs in-process)
    listen: str = DEFAULT_LISTEN         #: server: HOST:PORT
    token_file: Path | None = None       #: the shared secret, in a file readable by the service and artists
    jobs_url: str | None = None          #: server: job store (SQLite path/URL or postgresql://)
    devices: tuple[int, ...] = (0,)      #: server: one queue and one warm engine per device
    max_queued: int = 16                 #: server: waiting jobs; more are answered 429 with Retry-After
    max_body_bytes: int = 256 * 1024     #: server: the largest request body accepted
    timeout_s: float = 30.0              #: clients: connect/read timeout of one request
    ledger: bool = True                  #: server: record every finished job in the publish ledger

    def __post_init__(self) -> None:
        if self.max_queued < 1:
            raise ConfigError(f"[service] max_queued must be at least 1, got {self.max_queued}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"[service] max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if not self.devices:
            raise ConfigError("[service] devices must name at least one device, e.g. devices = [0]")
        if len(set(self.devices)) != len(self.devices):
            raise ConfigError(f"[service] devices names a device twice: {list(self.devices)}")
        if self.timeout_s <= 0:
            raise ConfigError(f"[service] timeout_s must be positive, got {self.timeout_s}")
        split_listen(self.listen)

    def token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The shared secret: ``FACERIGHT_SERVICE_TOKEN``, else the first line of ``token_file``."""
        env = os.environ if environ is None else environ
        if env.get(TOKEN_ENV):
            return check_token(env[TOKEN_ENV].strip(), TOKEN_ENV)
        if self.token_file is None:
            return None
        try:
            text = Path(self.token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"[service] token_file {self.token_file} cannot be read ({exc}); give a text "
                              "file holding the token on its first line") from None
        return check_token(text.splitlines()[0].strip() if text else "", f"[service] token_file {self.token_file}")


def check_token(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"the service token from {where} has {len(token)} characters; use at least "
                          f"{MIN_TOKEN_CHARS} random ones (e.g. python -c \"import secrets; print(secrets.token_urlsafe(32))\")")
    return token


def split_listen(listen: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT`` (``[::1]:8765`` for IPv6)."""
    host, sep, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"listen address {listen!r} is not HOST:PORT (e.g. 127.0.0.1:8765, or 0.0.0.0:8765 "
                          "with a token)")
    return host, int(port)


def service_settings(config: Config | Mapping[str, Any] | None = None, *,
                     environ: Mapping[str, str] | None = None, **overrides: Any) -> ServiceSettings:
    """Settings from the config's ``[service]`` table, then ``FACERIGHT_SERVICE_URL``, then ``overrides``."""
    env = os.environ if environ is None else environ
    if env.get(URL_ENV) and overrides.get("url") is None:
        overrides["url"] = env[URL_ENV]
    return settings_from(ServiceSettings, tables_of(config).get("service"), where="[service]", **overrides)


def configured_engine_name(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """``remote`` when a service URL is configured, else ``local`` (read by :func:`faceright.engine_client.open_engine`
    in every command, so it lives here, not in the HTTP client)."""
    return "remote" if service_settings(config, environ=environ).url else "local"
