"""The models faceright can use: the user's, in the models folder, and the shipped ones.

The models folder is ``EngineSettings.models_folder`` (config ``[engine] models_dir`` or
``FACERIGHT_MODELS``). Every ``*.onnx`` file below it is a model; its kind and family come from
its signature (:mod:`.routing`), never its name. A TD registers the sha256 a file must have in
the folder's manifest, ``models.json``, with ``faceright models add FILE``::

    {"format": "faceright.models.1",
     "models": {"inswapper": {"file": "inswapper_128.onnx", "sha256": "e4a3…", "size": 554253681,
                              "kind": "swapper", "family": "inswapper"}}}

A registered file whose hash differs is a *mismatch* and is never used; an unregistered file
is *unverified*: listed with a warning, and never picked over a verified model of its kind
(only when asked for by name or path, or when no verified one exists, with a warning). The shipped models (:mod:`.shipped`) carry hashes pinned in code. A user's
registered model of a kind wins over a shipped one unless a name is given.

A :class:`Catalog` is an explicit object: it hashes each file once (by path and stamp) for as
long as it lives, and not at all while the file's stamp is the one remembered in the cache folder
(:mod:`.hashes`: a studio's models are hundreds of MB), and reads it once through its
:class:`~.prepared.ModelCache` (by sha256; on disk too when the settings name a cache folder,
so a later process neither parses the file nor imports ``onnx``). The folder is listed once
per catalog and again only when a folder's or the manifest's modification time changes.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Sequence

from faceright.atomic import replacing, write_replacing
from faceright.compat import file_sha256
from faceright.errors import ConfigError

from ..settings import EngineSettings
from ..types import MODEL_KINDS, ModelKind
from .errors import (
    ModelError,
    ModelFileCorruptError,
    ModelHashMismatchError,
    ModelNotFoundError,
    UnknownModelError,
)
from .hashes import RememberedHashes, stamp_of
from .prepared import ModelCache, PreparedModel
from .routing import Route, check_role, route
from .shipped import SHIPPED, ShippedModel
from .signature import Signature

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "Catalog",
    "Check",
    "CheckStatus",
    "ModelFile",
    "Source",
    "Status",
    "sha256_of",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "models.json"
MANIFEST_FORMAT = "faceright.models.1"

Source = Literal["shipped", "user"]
Status = Literal["verified", "unverified", "mismatch"]
CheckStatus = Literal["verified", "unverified", "mismatch", "truncated", "corrupt", "unknown", "missing"]
_USABLE: tuple[CheckStatus, ...] = ("verified", "unverified")
_OPTION = {"detector": "--detector", "recogniser": "--recogniser", "swapper": "--backend"}   #: how the CLI names one


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks (:func:`hashlib.file_digest`)."""
    return file_sha256(path)


@dataclass(frozen=True)
class ModelFile:
    """One usable model file: what it is (by signature), its hash, and where it comes from."""

    name: str
    path: Path
    kind: ModelKind
    family: str
    signature: Signature
    sha256: str
    source: Source
    expected_sha256: str | None = None

    @property
    def status(self) -> Status:
        if self.expected_sha256 is None:
            return "unverified"
        return "verified" if self.expected_sha256 == self.sha256 else "mismatch"

    @property
    def short_sha(self) -> str:
        return self.sha256[:12]

    @property
    def model_id(self) -> str:
        """Names the model in embeddings and logs: ``family:sha256[:12]`` (stable across renames)."""
        return f"{self.family}:{self.short_sha}"


@dataclass(frozen=True)
class Check:
    """What :meth:`Catalog.verify` found about one model."""

    name: str
    path: Path | None
    source: Source
    status: CheckStatus
    message: str
    kind: ModelKind | None = None
    family: str | None = None
    expected_sha256: str | None = None
    actual_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in _USABLE

    @property
    def warning(self) -> str | None:
        """What a listing (``models list``, ``doctor``) warns of a usable model: an unregistered file."""
        return self.message if self.status == "unverified" else None


@dataclass(frozen=True)
class _Entry:
    """A model file the catalog knows of, before it is read: manifest, shipped or found in the folder."""

    name: str
    path: Path | None
    source: Source
    expected_sha256: str | None = None
    expected_size: int | None = None
    expected_kind: ModelKind | None = None
    shipped: ShippedModel | None = None


class Catalog:
    """The user's models (the models folder and its manifest) plus the shipped ones."""

    def __init__(self, folder: Path | str, *, shipped: Sequence[ShippedModel] = SHIPPED,
                 cache: ModelCache | None = None, remembered: bool = True) -> None:
        """``remembered``: take a file's sha256 from the cache folder's remembered hashes when its
        stamp is unchanged (:mod:`.hashes`); ``False`` hashes every file (``faceright models verify``)."""
        self.folder = Path(folder).expanduser()
        self.shipped = tuple(shipped)
        self.cache = cache if cache is not None else ModelCache()
        self.remembered = RememberedHashes(self.cache.folder)
        self._trust_remembered = remembered
        self._hashes: dict[tuple, str] = {}
        self._hashing = threading.Lock()   #: a file is hashed once, whichever thread asks first
        self._scanned: tuple[tuple, list[_Entry]] | None = None
        self._warned: set[str] = set()
        self._listing = threading.Lock()   #: one listing at a time (a job loads models from two threads)

    @classmethod
    def from_settings(cls, settings: EngineSettings, *, remembered: bool = True) -> "Catalog":
        return cls(settings.models_folder, cache=ModelCache(settings.model_cache_folder), remembered=remembered)

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    # -- reading files (cached) ---------------------------------------------------------------

    def sha256(self, path: Path | str) -> str:
        """The file's sha256: computed once per catalog for an unchanged file, and taken from the
        remembered hashes while the file's stamp is the one it was hashed with (:mod:`.hashes`)."""
        path = Path(path)
        st = path.stat()
        resolved = path.resolve()
        key = (resolved, *stamp_of(st))
        with self._hashing:
            found = self._hashes.get(key)
            if found is None and self._trust_remembered:
                found = self.remembered.get(resolved, st)
            if found is None:
                log.debug("hashing %s", path)
                found = sha256_of(path)
                self.remembered.put(resolved, st, found)
            self._hashes[key] = found
        return found

    def signature(self, path: Path | str) -> Signature:
        """The file's signature, read once for its content (see :meth:`prepared`)."""
        return self.cache.get(Path(path), self.sha256(path)).signature

    def prepared(self, model: ModelFile) -> PreparedModel:
        """What a session for ``model`` is made from, read once for its content (sha256)."""
        return self.cache.get(model.path, model.sha256)

    def tensorrt_source(self, model: ModelFile) -> bytes | str:
        """What a TensorRT session for ``model`` is made from: every tensor's shape explicit."""
        return self.cache.tensorrt_source(self.prepared(model))

    # -- the manifest -------------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, dict]:
        path = self.manifest_path
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"model manifest {path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(
            data.get("models"), dict
        ):
            raise ConfigError(
                f"model manifest {path} is not a {MANIFEST_FORMAT} manifest "
                f'(expected {{"format": "{MANIFEST_FORMAT}", "models": {{...}}}})'
            )
        models = data["models"]
        for name, entry in models.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not isinstance(
                entry.get("sha256"), str
            ):
                raise ConfigError(f"model manifest {path}: entry {name!r} needs a 'file' and a 'sha256'")
        return models

    def _write_manifest(self, models: dict[str, dict]) -> None:
        text = json.dumps({"format": MANIFEST_FORMAT, "models": models}, indent=2, sort_keys=True) + "\n"
        write_replacing(self.manifest_path, text.encode("utf-8"))

    def _manifest_file(self, file: str) -> Path:
        path = Path(file).expanduser()
        return path if path.is_absolute() else self.folder / path

    # -- what the catalog knows of ------------------------------------------------------------

    def rescan(self) -> None:
        """List the models folder and read the manifest again on the next lookup."""
        self._scanned = None

    def _fingerprint(self) -> tuple:
        """What changes when a model file is added, removed or renamed, or the manifest is
        rewritten: the manifest's and every folder's stat (no file is opened)."""
        def stamp(path: Path) -> tuple[int, int] | None:
            try:
                st = path.stat()
            except OSError:
                return None
            return (st.st_mtime_ns, st.st_size)

        folders = []
        if self.folder.is_dir():
            for dirpath, dirnames, _ in os.walk(self.folder):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                folders.append((dirpath, stamp(Path(dirpath))))
        return (stamp(self.manifest_path), tuple(folders))

    def _entries(self) -> list[_Entry]:
        """The manifest's, the folder's and the shipped models, listed again only when the
        folder or the manifest changed (not per lookup)."""
        with self._listing:
            fingerprint = self._fingerprint()
            if self._scanned is None or self._scanned[0] != fingerprint:
                self._scanned = (fingerprint, self._scan())
            return list(self._scanned[1])

    def _scan(self) -> list[_Entry]:
        entries: list[_Entry] = []
        registered: set[Path] = set()
        for name, item in sorted(self._read_manifest().items()):
            path = self._manifest_file(item["file"])
            registered.add(path.resolve())
            kind = item.get("kind")
            entries.append(_Entry(
                name=name, path=path, source="user", expected_sha256=item["sha256"].lower(),
                expected_size=item.get("size") if isinstance(item.get("size"), int) else None,
                expected_kind=kind if kind in MODEL_KINDS else None,
            ))
        taken = {e.name for e in entries} | {m.name for m in self.shipped}
        if self.folder.is_dir():
            for path in sorted(self.folder.rglob("*.onnx")):
                rel = path.relative_to(self.folder)
                if any(part.startswith(".") for part in rel.parts) or path.resolve() in registered:
                    continue
                name = rel.with_suffix("").as_posix()
                if name in taken:
                    name = rel.as_posix()
                taken.add(name)
                entries.append(_Entry(name=name, path=path, source="user"))
        for shipped in self.shipped:
            entries.append(_Entry(
                name=shipped.name, path=shipped.locate(), source="shipped", expected_sha256=shipped.sha256,
                expected_size=shipped.size, expected_kind=shipped.kind, shipped=shipped,
            ))
        return entries

    def _check(self, entry: _Entry) -> tuple[Check, ModelFile | None]:
        """Read, hash and route one entry; a Check always, a ModelFile when the file is usable."""
        path = entry.path

        def check(status: CheckStatus, message: str, **kw) -> Check:
            return Check(name=entry.name, path=path, source=entry.source, status=status, message=message,
                         expected_sha256=entry.expected_sha256, **kw)

        if path is None or not path.is_file():
            where = (f"{entry.shipped.requirement} is not installed" if path is None and entry.shipped
                     else f"{path} does not exist")
            fix = (f"reinstall {entry.shipped.requirement}" if entry.shipped
                   else f"restore the file or remove {entry.name!r} from {self.manifest_path}")
            return check("missing", f"model {entry.name!r} is missing: {where}; {fix}"), None
        size = path.stat().st_size
        if entry.expected_size is not None and size < entry.expected_size:
            return check(
                "truncated",
                f"model {entry.name!r} ({path}) is truncated: {size} bytes of the {entry.expected_size} expected; "
                f"copy the file again",
                actual_sha256=self.sha256(path),
            ), None
        try:
            signature = self.signature(path)
        except ModelFileCorruptError as exc:
            return check("corrupt", f"model {entry.name!r}: {exc}", actual_sha256=self.sha256(path)), None
        actual = self.sha256(path)
        try:
            found: Route = route(signature, source=path)
        except UnknownModelError as exc:
            return check("unknown", str(exc), actual_sha256=actual), None
        model = ModelFile(
            name=entry.name, path=path, kind=found.kind, family=found.family, signature=signature,
            sha256=actual, source=entry.source, expected_sha256=entry.expected_sha256,
        )
        if model.status == "mismatch":
            return check(
                "mismatch",
                f"model {entry.name!r} ({path}) has sha256 {actual}, but {entry.expected_sha256} is expected: "
                f"the file was changed or replaced; restore the original"
                + ("" if entry.shipped else f", or register the new file with `faceright models add {path}`"),
                kind=found.kind, family=found.family, actual_sha256=actual,
            ), model
        status: CheckStatus = model.status
        message = (f"model {entry.name!r} ({path}): sha256 {actual} as expected" if status == "verified" else
                   f"model {entry.name!r} ({path}) is not registered: its sha256 is unchecked and it is never "
                   f"picked on its own; register it with `faceright models add {path}`, or name it "
                   f"([engine] {found.kind} = \"{entry.name}\", swap {_OPTION[found.kind]} {entry.name}) to use it")
        return check(status, message, kind=found.kind, family=found.family, actual_sha256=actual), model

    def verify(self, names: Iterable[str] = ()) -> list[Check]:
        """One :class:`Check` per model (or per name asked for): hash, size, readability, signature."""
        entries = self._entries()
        wanted = list(names)
        if wanted:
            by_name = {e.name: e for e in entries}
            unknown = [n for n in wanted if n not in by_name]
            if unknown:
                raise ModelNotFoundError(
                    f"no model named {', '.join(map(repr, unknown))}; known: {', '.join(sorted(by_name)) or 'none'}"
                )
            entries = [by_name[n] for n in wanted]
        return [self._check(e)[0] for e in entries]

    def all(self) -> list[ModelFile]:
        """Every readable, routable model: the user's first (by name), then the shipped ones.

        Hash mismatches are included (``status == "mismatch"``) so that they can be listed;
        :meth:`find` never returns one.
        """
        models = []
        for entry in self._entries():
            check, model = self._check(entry)
            if model is not None:
                models.append(model)
            elif entry.source == "user" or check.status != "missing":
                self._warn(check.message)
        return models

    # -- finding a model for a role -----------------------------------------------------------

    def open(self, path: Path | str, kind: ModelKind | None = None) -> ModelFile:
        """A model given by file path (``--model some.onnx``), checked for ``kind`` when given."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} does not exist")
        resolved = path.resolve()
        for entry in self._entries():
            if entry.path is not None and entry.path.is_file() and entry.path.resolve() == resolved:
                check, model = self._check(entry)
                if model is None:
                    raise _error_for(check)
                break
        else:
            signature = self.signature(path)
            found = route(signature, source=path)
            model = ModelFile(name=path.stem, path=path, kind=found.kind, family=found.family,
                              signature=signature, sha256=self.sha256(path), source="user")
        if kind is not None:
            check_role(Route(model.kind, model.family, _reason(model)), kind, source=path)
        if model.status == "mismatch":
            raise ModelHashMismatchError(
                f"model file {path} has sha256 {model.sha256}, but {model.expected_sha256} is registered for "
                f"{model.name!r}: restore the original or register the new file with `faceright models add`"
            )
        self._warn_unchecked(model)
        return model

    def find(self, kind: ModelKind, name: str | Path | None = None) -> ModelFile:
        """The model to use as ``kind``: by name or path when given, else the best installed one."""
        if kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")
        models = self.all()
        if name is not None:
            match = [m for m in models if m.name == str(name)]
            if match:
                model = match[0]
                check_role(Route(model.kind, model.family, _reason(model)), kind, source=model.path)
                if model.status == "mismatch":
                    raise ModelHashMismatchError(
                        f"model {model.name!r} ({model.path}) has sha256 {model.sha256}, but "
                        f"{model.expected_sha256} is expected: restore the original file"
                    )
                self._warn_unchecked(model)
                return model
            candidate = Path(str(name)).expanduser()
            if candidate.is_file() or candidate.suffix == ".onnx" or os.sep in str(name):
                return self.open(candidate, kind)
            raise ModelNotFoundError(
                f"no model named {str(name)!r}; {self._available(models)}"
            )
        usable = [m for m in models if m.kind == kind and m.status == "verified"]
        for m in models:
            if m.kind == kind and m.status == "mismatch":
                log.warning("not using %s model %r: its sha256 does not match the registered one", kind, m.name)
        unregistered = [m for m in models if m.kind == kind and m.status == "unverified"]
        if not usable and unregistered:   # nothing verified to beat: the unregistered file, said loudly
            chosen = min(unregistered, key=lambda m: m.name)
            self._warn(f"using unregistered {kind} model {chosen.name!r} ({chosen.path}), its sha256 unchecked, "
                       f"because no registered {kind} is installed: register it with "
                       f"`faceright models add {chosen.path}`")
            return chosen
        for m in unregistered:
            self._warn(f"not picking unregistered {kind} model {m.name!r} ({m.path}) over the verified one: "
                       f"register it with `faceright models add {m.path}`, or name it to use it unchecked")
        if not usable:
            raise ModelNotFoundError(
                f"no {kind} model is installed; {self._available(models)}. "
                f"Put one in {self.folder} (and register it with `faceright models add FILE`)"
            )
        user = [m for m in usable if m.source == "user"]
        chosen = min(user or usable, key=lambda m: m.name)
        log.info("using %s %s model %r (%s)", chosen.source, chosen.family, chosen.name, chosen.path)
        return chosen

    def _warn_unchecked(self, model: ModelFile) -> None:
        if model.status == "unverified":
            self._warn(f"using unregistered {model.kind} model {model.name!r} ({model.path}) as asked, its sha256 "
                       f"unchecked: register it with `faceright models add {model.path}`")

    def _warn(self, message: str) -> None:
        """Log ``message`` once per catalog, not on every find()."""
        if message not in self._warned:
            self._warned.add(message)
            log.warning("%s", message)

    def _available(self, models: Sequence[ModelFile]) -> str:
        if not models:
            return f"no models are available (models folder {self.folder}, none shipped)"
        listed = ", ".join(f"{m.name} ({m.family} {m.kind}{', ' + m.status if m.status != 'verified' else ''})"
                           for m in models)
        return f"available: {listed}"

    # -- registering --------------------------------------------------------------------------

    def add(self, file: Path | str, name: str | None = None) -> ModelFile:
        """Register ``file`` (copied into the models folder when outside it) with its sha256.

        The file must be a model routing recognises. Registering the same file under the same
        name again is a no-op; a name already used for other content is refused.
        """
        path = Path(file).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} does not exist")
        signature = self.signature(path)
        found = route(signature, source=path)
        digest = self.sha256(path)
        name = name if name is not None else path.stem
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ConfigError(f"model name {name!r} is not usable: give a plain name with --name")
        if name in {m.name for m in self.shipped}:
            raise ModelError(f"model name {name!r} belongs to a shipped model; choose another with --name")
        models = self._read_manifest()
        existing = models.get(name)
        if existing is not None and existing.get("sha256", "").lower() != digest:
            raise ModelError(
                f"a model named {name!r} is already registered in {self.manifest_path} with sha256 "
                f"{existing.get('sha256')} (file {existing.get('file')}); this file's sha256 is {digest}. "
                f"Choose another name with --name, or remove the old entry first"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        folder = self.folder.resolve()
        resolved = path.resolve()
        if resolved.is_relative_to(folder):
            stored = resolved
        else:
            stored = folder / path.name
            if stored.exists() and self.sha256(stored) != digest:
                raise ModelError(
                    f"{stored} already exists with other content; rename {path} or choose the file to keep"
                )
            if not stored.exists():
                with replacing(stored) as temp:
                    shutil.copyfile(path, temp)
        models[name] = {
            "file": stored.relative_to(folder).as_posix(),
            "sha256": digest,
            "size": stored.stat().st_size,
            "kind": found.kind,
            "family": found.family,
        }
        self._write_manifest(models)
        self.rescan()
        log.info("registered %s %s model %r (%s)", found.family, found.kind, name, stored)
        return ModelFile(name=name, path=stored, kind=found.kind, family=found.family, signature=signature,
                         sha256=digest, source="user", expected_sha256=digest)


def _reason(model: ModelFile) -> str:
    return f"{model.family} signature: {model.signature.describe()}"


def _error_for(check: Check) -> ModelError:
    if check.status in ("corrupt", "truncated"):
        return ModelFileCorruptError(check.message)
    if check.status == "unknown":
        return UnknownModelError(check.message)
    if check.status == "missing":
        return ModelNotFoundError(check.message)
    return ModelHashMismatchError(check.message)
