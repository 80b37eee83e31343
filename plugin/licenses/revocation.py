"""Is a license (or release) still in force? Ask its registry; offline, read a cached list.

The registry protocol (every answer is a signed envelope, see :mod:`.signing`)::

    GET  {registry_url}/licenses/{license_id}/status?nonce=N   -> faceright.revocation-status/1
    GET  {registry_url}/revocations                            -> faceright.revocation-list/1
    POST {registry_url}/revocations   (a signed revocation notice from the issuer)

A status must be signed by the key the document names (``revocation.registry_key_id``),
which the TD's keyring trusts for the ``registry`` role, and must echo the nonce of this
request (so an old "active" answer cannot be replayed). A list is signed the same way and
has an ``issued_at``; a cached list older than ``[licenses] revocation_max_age_hours`` is
not used: the check fails closed and says how to refresh it. Anything the registry says
that does not verify blocks (``license.revocation_untrusted``); a list or status dated
ahead of this machine's clock by more than ``[licenses] clock_skew_s`` is refused, since it
would never age (``license.revocation_future_dated``); an unreachable registry falls back to
the cached list, and without a usable one blocks (``license.revocation_unknown``).
``license refresh`` caches only a list that verify would use: not future-dated, not stale.

The issuer's own signed revocation notices (``faceright license revoke``) are kept under
``$FACERIGHT_HOME/revocations/notices`` and always count, online or not; a notice there that
does not verify blocks (``license.revocation_notice_invalid``), because it may be a revocation.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal
from urllib.parse import quote, urlsplit

from faceright.atomic import write_replacing
from faceright.errors import LicenseError
from faceright.findings import Finding
from faceright.home import faceright_home

from . import signing, strictjson
from .document import Document, Revocation, convert, split_envelope
from .keyring import Keyring
from .settings import LicenseSettings
from .strictjson import DocumentFormatError

if TYPE_CHECKING:   # requests comes with the caller's session: offline work never imports it
    import requests

log = logging.getLogger(__name__)

STATUS_SCHEMA = "faceright.revocation-status/1"
LIST_SCHEMA = "faceright.revocation-list/1"
NOTICE_SCHEMA = "faceright.revocation-notice/1"
ExistingCuts = Literal["must_remove", "may_distribute_until", "unaffected"]


class RegistryError(LicenseError):
    """The registry could not be asked (policy, network, HTTP status): the answer is unknown."""


class RegistryNotFoundError(RegistryError):
    """The registry does not know this license."""


class UntrustedRecordError(LicenseError):
    """A revocation record is malformed or not signed by the key that must sign it."""


class FutureDatedRecordError(UntrustedRecordError):
    """A registry's record is dated ahead of this machine's clock by more than the tolerance."""


class StaleRecordError(LicenseError):
    """A registry served a list already older than the maximum age: offline checks would refuse it."""


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationStatus:
    schema: Literal["faceright.revocation-status/1"]
    registry_url: str
    license_id: str
    state: Literal["active", "suspended", "revoked"]
    as_of: datetime
    nonce: str
    reason: str | None
    effective_from: datetime | None


@dataclass(frozen=True)
class RevocationEntry:
    license_id: str
    state: Literal["suspended", "revoked"]
    reason: str | None
    effective_from: datetime | None


@dataclass(frozen=True)
class RevocationList:
    schema: Literal["faceright.revocation-list/1"]
    registry_url: str
    issued_at: datetime
    entries: tuple[RevocationEntry, ...]


@dataclass(frozen=True)
class RevocationNotice:
    """The issuer's signed statement that a license or release is withdrawn."""

    schema: Literal["faceright.revocation-notice/1"]
    license_id: str
    issuer_key_id: str
    issued_at: datetime
    effective_from: datetime
    reason: str
    existing_cuts: ExistingCuts
    distribute_until: date | None


def _same_registry(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _future_dated(what: str, dated: datetime, now: datetime, settings: LicenseSettings) -> str | None:
    """Why ``dated`` cannot be believed (ahead of ``now`` beyond ``clock_skew_s``), or None when it can."""
    ahead_s = (dated - now).total_seconds()
    if ahead_s <= settings.clock_skew_s:
        return None
    return (f"{what} is dated {dated.isoformat()}, {ahead_s / 3600:.1f} h ahead of this machine's clock "
            f"(now {now.isoformat()}), more than the {settings.clock_skew_s:g} s allowed ([licenses] clock_skew_s)")


def verify_record(
    data: bytes,
    record_type: type,
    *,
    what: str,
    keyring: Keyring,
    role: str,
    key_id: str | None,
    now: datetime,
) -> tuple[Any, str]:
    """Parse a signed record and check its signature; returns the record and the signing key's name.

    ``key_id`` (when given) is the only key allowed to have signed it; the keyring must trust
    that key for ``role`` and it must not have expired.
    """
    try:
        body, sig = split_envelope(strictjson.loads(data, what=what), what=what)
        record = convert(record_type, body, "body")
    except DocumentFormatError as exc:
        raise UntrustedRecordError(f"{what} is malformed: {exc}") from exc
    if key_id is not None and sig.key_id != key_id:
        raise UntrustedRecordError(f"{what} is signed by key {sig.key_id}, but only {key_id} may sign it")
    trusted = keyring.get(sig.key_id)
    if trusted is None:
        raise UntrustedRecordError(f"{what} is signed by key {sig.key_id}, which the keyring does not trust")
    if role not in trusted.roles:
        raise UntrustedRecordError(
            f"{what} is signed by {trusted.name!r}, which the keyring trusts as {', '.join(trusted.roles)}, "
            f"not as {role} (faceright keyring add ... --role {role})"
        )
    if trusted.expired(now):
        raise UntrustedRecordError(f"{what} is signed by {trusted.name!r}, whose trust expired {trusted.expires_at}")
    if not signing.verify_signature(body, sig, trusted.public_key):
        raise UntrustedRecordError(f"{what} has a signature that does not verify with {trusted.name!r}'s key")
    return record, trusted.name


# -- HTTP ------------------------------------------------------------------------------------


class RegistryClient:
    """HTTP client of revocation registries: timeouts, retries with backoff, TLS verified, bounded reads.

    The ``requests.Session`` is the caller's (one per command; close it when done).
    """

    def __init__(
        self,
        session: requests.Session,
        settings: LicenseSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if session.verify is False:
            raise RegistryError("TLS certificate verification must stay on for revocation registries")
        self.session = session
        self.settings = settings
        self._sleep = sleep

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https":
            return
        if parts.scheme == "http" and parts.hostname in self.settings.plain_http_hosts:
            return
        raise RegistryError(
            f"refusing {url}: registries are reached over https (plain http only for "
            f"{', '.join(self.settings.plain_http_hosts)}, [licenses] plain_http_hosts)"
        )

    def request(
        self, method: str, url: str, *, params: dict[str, str] | None = None, body: bytes | None = None
    ) -> bytes:
        """The response body of a 2xx answer; retries timeouts, connection errors, 429 and 5xx."""
        self._check_url(url)
        s = self.settings
        attempts = s.retries + 1
        last = "no attempt"
        for attempt in range(attempts):
            if attempt:
                pause = min(s.backoff_s * 2 ** (attempt - 1), s.max_backoff_s)
                log.info("registry %s: %s; attempt %d/%d in %.2fs", url, last, attempt + 1, attempts, pause)
                self._sleep(pause)
            try:
                return self._once(method, url, params, body)
            except _Retryable as exc:
                last = str(exc)
        raise RegistryError(f"registry {url} did not answer after {attempts} attempt(s): {last}")

    def _once(self, method: str, url: str, params: dict[str, str] | None, body: bytes | None) -> bytes:
        import requests

        s = self.settings
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(
                method, url, params=params, data=body, headers=headers,
                timeout=(s.connect_timeout_s, s.read_timeout_s), stream=True, allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise RegistryError(f"TLS verification of {url} failed: {exc}") from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise _Retryable(_describe(exc)) from exc
        except requests.RequestException as exc:
            raise RegistryError(f"cannot ask {url}: {_describe(exc)}") from exc
        with response:
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(f"HTTP {response.status_code}")
            if response.status_code == 404:
                raise RegistryNotFoundError(f"registry {url} answered 404: it does not know this record")
            if not 200 <= response.status_code < 300:
                raise RegistryError(f"registry {url} answered HTTP {response.status_code}")
            return self._read(response, url)

    def _read(self, response: requests.Response, url: str) -> bytes:
        import requests

        s = self.settings
        deadline = time.monotonic() + s.connect_timeout_s + s.read_timeout_s
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > s.max_response_bytes:
                    raise RegistryError(f"registry {url} sent more than {s.max_response_bytes:,} bytes")
                if time.monotonic() > deadline:
                    raise _Retryable("the answer took longer than the read timeout")
                chunks.append(chunk)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise _Retryable(f"{_describe(exc)} while reading the answer") from exc
        except requests.RequestException as exc:
            raise RegistryError(f"cannot read the answer of {url}: {exc}") from exc
        return b"".join(chunks)

    # -- the three calls ----------------------------------------------------------------------

    @staticmethod
    def status_url(registry_url: str, license_id: str) -> str:
        return f"{registry_url.rstrip('/')}/licenses/{quote(license_id, safe='')}/status"

    @staticmethod
    def list_url(registry_url: str) -> str:
        return f"{registry_url.rstrip('/')}/revocations"

    def fetch_status(self, registry_url: str, license_id: str, nonce: str) -> bytes:
        return self.request("GET", self.status_url(registry_url, license_id), params={"nonce": nonce})

    def fetch_list(self, registry_url: str) -> bytes:
        return self.request("GET", self.list_url(registry_url))

    def publish_notice(self, registry_url: str, notice: bytes) -> None:
        self.request("POST", self.list_url(registry_url), body=notice)


def _describe(exc: requests.RequestException) -> str:
    """A short reason for a requests error (its urllib3 cause, not the whole retry chain)."""
    import requests

    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError -> the real cause
    text = str(reason)
    if "] " in text and text.startswith("<"):  # "<urllib3.connection...>: Failed to ... [Errno 111] refused"
        text = text.split(">: ", 1)[-1]
    kind = "timed out" if isinstance(exc, requests.Timeout) else type(exc).__name__
    return f"{kind}: {text}"[:300]


class _Retryable(Exception):
    """A transient failure (internal to :class:`RegistryClient`)."""


# -- local store: cached lists and notices ----------------------------------------------------


class RevocationStore:
    """``$FACERIGHT_HOME/revocations``: one cached signed list per registry, and issuers' notices.

    Files are kept exactly as signed and re-verified whenever read.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = faceright_home() / "revocations" if folder is None else folder

    def list_path(self, registry_url: str) -> Path:
        digest = hashlib.sha256(registry_url.rstrip("/").encode("utf-8")).hexdigest()[:32]
        return self.folder / "lists" / f"{digest}.json"

    def load_list(self, registry_url: str) -> bytes | None:
        path = self.list_path(registry_url)
        if not path.exists():
            return None
        return strictjson.read_bounded(path, 256 * 1024 * 1024)

    def list_version(self, registry_url: str) -> tuple[int, int, int] | None:
        """The cached list file's (inode, size, modification time): what tells a changed file, unread."""
        try:
            stat = self.list_path(registry_url).stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def save_list(self, registry_url: str, data: bytes) -> Path:
        path = self.list_path(registry_url)
        try:
            write_replacing(path, data)
        except OSError as exc:
            raise LicenseError(f"cannot write the revocation list cache {path}: {exc}") from exc
        return path

    def notice_folder(self, license_id: str) -> Path:
        return self.folder / "notices" / hashlib.sha256(license_id.encode("utf-8")).hexdigest()[:32]

    def notice_paths(self, license_id: str) -> list[Path]:
        folder = self.notice_folder(license_id)
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    def save_notice(self, license_id: str, data: bytes) -> Path:
        folder = self.notice_folder(license_id)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.json"
        try:
            write_replacing(path, data)
        except OSError as exc:
            raise LicenseError(f"cannot store the revocation notice in {folder}: {exc}") from exc
        return path


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def refresh_list(
    client: RegistryClient,
    store: RevocationStore,
    keyring: Keyring,
    registry_url: str,
    *,
    key_id: str | None = None,
    now: datetime | None = None,
) -> RevocationList:
    """Fetch, verify and cache a registry's revocation list.

    Never replaces a newer cached one, and caches nothing verify would refuse: a list dated in
    the future (:class:`FutureDatedRecordError`) or already stale (:class:`StaleRecordError`).
    """
    now = datetime.now(timezone.utc) if now is None else now
    settings = client.settings
    what = f"the revocation list of {registry_url}"
    data = client.fetch_list(registry_url)
    record, _ = verify_record(data, RevocationList, what=what, keyring=keyring, role="registry",
                              key_id=key_id, now=now)
    if not _same_registry(record.registry_url, registry_url):
        raise UntrustedRecordError(f"the list fetched from {registry_url} is the list of {record.registry_url}")
    future = _future_dated(what, record.issued_at, now, settings)
    if future:
        raise FutureDatedRecordError(f"{future}; it was not cached: check this machine's clock, and ask the "
                                     "registry's operator to check theirs")
    old = None
    try:
        cached = store.load_list(registry_url)
        if cached is not None:
            old, _ = verify_record(cached, RevocationList, what="cached list", keyring=keyring,
                                   role="registry", key_id=None, now=now)
            if _future_dated("the cached list", old.issued_at, now, settings):
                log.warning("replacing the cached list of %s, dated in the future (%s)", registry_url,
                            old.issued_at.isoformat())
                old = None
    except (UntrustedRecordError, DocumentFormatError) as exc:
        log.warning("replacing an unusable cached list for %s: %s", registry_url, exc)
    if old is not None and old.issued_at > record.issued_at:
        raise UntrustedRecordError(
            f"the registry served a list issued {record.issued_at.isoformat()}, older than the cached "
            f"one ({old.issued_at.isoformat()}); kept the cached list"
        )
    age_s = (now - record.issued_at).total_seconds()
    if age_s > settings.revocation_max_age_s:
        raise StaleRecordError(
            f"{what} is stale: issued {record.issued_at.isoformat()}, {age_s / 3600:.1f} h ago, more than the "
            f"{settings.revocation_max_age_hours:g} h allowed ([licenses] revocation_max_age_hours); it was not "
            "cached, since offline checks would refuse it: ask the registry's operator why it serves an old list"
        )
    store.save_list(registry_url, data)
    return record


# -- the check verify.py runs --------------------------------------------------------------


def _refresh_hint(registry_url: str) -> str:
    return f"run `faceright license refresh --registry {registry_url}` while online"


def _state_finding(kind: str, doc_id: str, state: str, reason: str | None, effective: datetime | None,
                   when: datetime, source: str) -> Finding:
    detail = {"state": state, "source": source, "reason": reason,
              "effective_from": effective.isoformat() if effective else None}
    because = f" ({reason})" if reason else ""
    if effective is not None and effective > when:
        return Finding("license.revocation_pending", "warning",
                       f"the {kind} {doc_id} is {state}{because} from {effective.isoformat()} ({source}); "
                       "it may not be used after that", detail)
    code = "license.revoked" if state == "revoked" else "license.suspended"
    return Finding(code, "error", f"the {kind} {doc_id} is {state}{because} according to {source}", detail)


@dataclass
class RevocationChecker:
    """Decides whether a document is still in force: notices, then the registry, then the cached list."""

    keyring: Keyring
    settings: LicenseSettings
    store: RevocationStore
    client: RegistryClient | None = None  #: None = offline
    #: the last verified cached list per registry, by its file's version, key and minute: read and verified once
    _lists: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False, compare=False)

    def check(self, document: Document, *, when: datetime, now: datetime) -> list[Finding]:
        notice, invalid = self._local_notice(document, now)
        if notice is not None:
            return invalid + [_state_finding(document.KIND, document.doc_id, "revoked", notice.reason,
                                             notice.effective_from, when, "the issuer's revocation notice")]
        return invalid + [self._registry(document, when, now)]

    def _registry(self, document: Document, when: datetime, now: datetime) -> Finding:
        kind, doc_id, rev = document.KIND, document.doc_id, document.revocation
        unreachable = None
        if self.client is not None and self.settings.revocation_mode == "online":
            try:
                return self._online(document, rev, when, now)
            except FutureDatedRecordError as exc:
                return Finding("license.revocation_future_dated", "error",
                               f"the registry's answer for {kind} {doc_id} cannot be trusted, so it blocks: {exc}; "
                               "check this machine's clock, and ask the registry's operator to check theirs",
                               {"registry_url": rev.registry_url, "now": now.isoformat(),
                                "clock_skew_s": self.settings.clock_skew_s})
            except UntrustedRecordError as exc:
                return Finding("license.revocation_untrusted", "error",
                               f"the registry's answer for {kind} {doc_id} cannot be trusted, so it blocks: {exc}",
                               {"registry_url": rev.registry_url})
            except RegistryNotFoundError as exc:
                return Finding("license.revocation_unknown", "error",
                               f"the registry does not know {kind} {doc_id}: {exc}",
                               {"registry_url": rev.registry_url})
            except RegistryError as exc:
                unreachable = str(exc)
                log.warning("%s; falling back to the cached revocation list", exc)
        return self._cached(document, rev, when, now, unreachable)

    def _local_notice(self, document: Document, now: datetime) -> tuple[RevocationNotice | None, list[Finding]]:
        """The issuer's notice for ``document``, if one is stored, and a finding for each that does not verify."""
        kind, found, invalid = document.KIND, None, []
        for path in self.store.notice_paths(document.doc_id):
            try:
                notice, _ = verify_record(
                    strictjson.read_bounded(path), RevocationNotice, what=f"revocation notice {path}",
                    keyring=self.keyring, role="issuer", key_id=document.issuer.key_id, now=now,
                )
            except (UntrustedRecordError, DocumentFormatError) as exc:
                invalid.append(Finding(
                    "license.revocation_notice_invalid", "error",
                    f"a revocation notice for {kind} {document.doc_id} is stored but cannot be trusted ({exc}); "
                    f"it may withdraw this {kind}, so it blocks: ask the issuer {document.issuer.name!r} whether "
                    f"the {kind} is revoked; if it is not, a TD removes {path}",
                    {"path": str(path), "reason": str(exc)}))
                continue
            if notice.license_id == document.doc_id and notice.issuer_key_id == document.issuer.key_id:
                found = found or notice
        return found, invalid

    def _online(self, document: Document, rev: Revocation, when: datetime, now: datetime) -> Finding:
        assert self.client is not None
        nonce = new_nonce()
        data = self.client.fetch_status(rev.registry_url, document.doc_id, nonce)
        status, signer = verify_record(
            data, RevocationStatus, what=f"status from {rev.registry_url}", keyring=self.keyring,
            role="registry", key_id=rev.registry_key_id, now=now,
        )
        if status.nonce != nonce:
            raise UntrustedRecordError("the status does not echo this request's nonce (a replayed answer?)")
        if status.license_id != document.doc_id:
            raise UntrustedRecordError(f"the status is about {status.license_id}, not {document.doc_id}")
        if not _same_registry(status.registry_url, rev.registry_url):
            raise UntrustedRecordError(f"the status comes from registry {status.registry_url}")
        future = _future_dated(f"the status from {rev.registry_url}", status.as_of, now, self.settings)
        if future:
            raise FutureDatedRecordError(future)
        source = f"registry {rev.registry_url} (signed by {signer!r}, as of {status.as_of.isoformat()})"
        if status.state == "active":
            return Finding("license.revocation_ok", "info",
                           f"the {document.KIND} is in force according to {source}",
                           {"source": "registry", "as_of": status.as_of.isoformat()})
        return _state_finding(document.KIND, document.doc_id, status.state, status.reason,
                              status.effective_from, when, source)

    def _cached(self, document: Document, rev: Revocation, when: datetime, now: datetime,
                unreachable: str | None) -> Finding:
        kind, doc_id = document.KIND, document.doc_id
        why = f"the registry could not be reached ({unreachable}) and " if unreachable else ""
        detail: dict[str, Any] = {"registry_url": rev.registry_url}
        version = self.store.list_version(rev.registry_url)
        memo_key = (version, rev.registry_key_id, now.replace(second=0, microsecond=0))
        memo = self._lists.get(rev.registry_url)
        if version is not None and memo is not None and memo[0] == memo_key:
            listing, signer = memo[1]   # the same file, verified this minute: not read again
            return self._listed(document, rev, listing, when, now, why, unreachable, detail)
        try:
            data = self.store.load_list(rev.registry_url)
        except DocumentFormatError as exc:
            return Finding("license.revocation_unknown", "error",
                           f"revocation status of {kind} {doc_id} is unknown: {why}the cached list cannot be "
                           f"read ({exc}); {_refresh_hint(rev.registry_url)}", detail)
        if data is None:
            return Finding("license.revocation_unknown", "error",
                           f"revocation status of {kind} {doc_id} is unknown: {why}no revocation list of "
                           f"{rev.registry_url} is cached; {_refresh_hint(rev.registry_url)}", detail)
        try:
            listing, signer = verify_record(
                data, RevocationList, what=f"cached revocation list of {rev.registry_url}",
                keyring=self.keyring, role="registry", key_id=rev.registry_key_id, now=now,
            )
            if not _same_registry(listing.registry_url, rev.registry_url):
                raise UntrustedRecordError(f"the cached list is the list of {listing.registry_url}")
        except (UntrustedRecordError, DocumentFormatError) as exc:
            return Finding("license.revocation_unknown", "error",
                           f"revocation status of {kind} {doc_id} is unknown: {why}the cached list is not "
                           f"usable ({exc}); {_refresh_hint(rev.registry_url)}", detail)
        if version is not None and version == self.store.list_version(rev.registry_url):   # unchanged while read
            self._lists[rev.registry_url] = (memo_key, (listing, signer))
        return self._listed(document, rev, listing, when, now, why, unreachable, detail)

    def _listed(self, document: Document, rev: Revocation, listing: Any, when: datetime, now: datetime,
                why: str, unreachable: str | None, detail: dict[str, Any]) -> Finding:
        """The verdict of a verified cached ``listing`` on ``document``: fresh enough, and whether it names it."""
        kind, doc_id = document.KIND, document.doc_id
        age_s = (now - listing.issued_at).total_seconds()
        max_age = self.settings.revocation_max_age_s
        detail.update(issued_at=listing.issued_at.isoformat(), age_hours=round(age_s / 3600, 2))
        future = _future_dated(f"the cached revocation list of {rev.registry_url}", listing.issued_at, now,
                              self.settings)
        if future:
            return Finding("license.revocation_future_dated", "error",
                           f"revocation status of {kind} {doc_id} is unknown: {why}{future}, so it cannot show "
                           f"that it is fresh; check this machine's clock, then {_refresh_hint(rev.registry_url)}",
                           {**detail, "now": now.isoformat(), "clock_skew_s": self.settings.clock_skew_s})
        if age_s > max_age:
            return Finding("license.revocation_unknown", "error",
                           f"revocation status of {kind} {doc_id} is unknown: {why}the cached revocation list "
                           f"of {rev.registry_url} is {age_s / 3600:.1f} h old, more than the "
                           f"{self.settings.revocation_max_age_hours:g} h allowed "
                           f"([licenses] revocation_max_age_hours); {_refresh_hint(rev.registry_url)}", detail)
        source = f"the cached revocation list of {rev.registry_url} (issued {listing.issued_at.isoformat()})"
        for entry in listing.entries:
            if entry.license_id == doc_id:
                return _state_finding(kind, doc_id, entry.state, entry.reason, entry.effective_from, when, source)
        severity = "warning" if unreachable else "info"
        return Finding("license.revocation_ok", severity,
                       f"the {kind} is not revoked according to {source}"
                       + (f"; the registry itself could not be reached ({unreachable})" if unreachable else ""),
                       {**detail, "source": "cached list"})


def notice_body(document: Document, *, reason: str, effective_from: datetime, existing_cuts: ExistingCuts,
                distribute_until: date | None, now: datetime) -> dict[str, Any]:
    """The JSON body of a revocation notice for ``document`` (to be signed by its issuer)."""
    if not reason.strip():
        raise LicenseError("a revocation needs a reason")
    if existing_cuts == "may_distribute_until" and distribute_until is None:
        raise LicenseError("existing_cuts 'may_distribute_until' needs a distribute-until date")
    return {
        "schema": NOTICE_SCHEMA,
        "license_id": document.doc_id,
        "issuer_key_id": document.issuer.key_id,
        "issued_at": now.isoformat(),
        "effective_from": effective_from.isoformat(),
        "reason": reason,
        "existing_cuts": existing_cuts,
        "distribute_until": distribute_until.isoformat() if distribute_until else None,
    }


#: a signed record (notice, status, list) as written to a file
dumps_record = signing.dumps_envelope
