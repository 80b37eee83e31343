"""A model file read once: its signature, and what a session is made from, cached by sha256.

Reading an ONNX file with ``onnx`` costs twice over: importing ``onnx`` takes most of a
second (its ``ml_dtypes`` extension), and parsing a large model takes longer. A model is
therefore read **once**, by :meth:`ModelCache.get`, which returns a :class:`PreparedModel`:

- its :class:`~faceright.engine.models.signature.Signature` (what routing decides from),
- the model onnxruntime is given: the file itself when
  :func:`~faceright.engine.models.fixups.fix_for_onnxruntime` changes nothing onnxruntime
  would not do itself (unused initializers, which it drops), else the fixed graph (folded
  DequantizeLinear, stale inputs dropped, YuNet's input size freed): its bytes when just
  prepared, its checked file in the cache afterwards,
- an inswapper's ``emap`` and the backend options its graph implies (ArcFace exports that
  normalise inside the graph).

With a cache folder (``[engine] model_cache_dir``, default ``FACERIGHT_HOME/model-cache``),
all of this is kept on disk under the file's **sha256**, which the catalog knows in every
process anyway (it is how a model is verified; :mod:`.hashes` remembers it): the next process
finds it there and never imports ``onnx``. The signature comes from the entry's description;
the prepared graph and the ``emap`` are read only when a session is made (:class:`Payload`), so
routing every model of the catalog does not read them all. An entry is only trusted when its
own hashes match (the prepared graph and the ``emap`` are stored with theirs) and its format
version is this code's; anything else is read again and rewritten. Entries are written to a
temporary name and renamed. A cache folder that cannot be written only costs the next process
the parse (logged once).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from faceright.atomic import write_replacing
from faceright.compat import file_sha256
from faceright.errors import FaceRightError

from .errors import ModelError, UnknownModelError
from .routing import backend_class, route
from .signature import Signature, read_model, signature_of

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PREPARED_FORMAT", "ModelCache", "Payload", "PreparedModel"]

log = logging.getLogger(__name__)

#: the on-disk entry format; bump when what preparing does changes (the fix-ups, YuNet's freeing)
PREPARED_FORMAT = "faceright.prepared-model.2"


class Payload:
    """What a session is made from besides the file: the fixed graph and an inswapper's emap,
    held, or read from the model's cache entry (and checked) when first asked for, so that a
    process reads only the entries of the models it makes sessions for (a fixed SFace is 37 MB).
    A graph read from an entry is its checked file (a :class:`~pathlib.Path`), not its bytes:
    onnxruntime reads it itself and keeps nothing of it once the session is made, where given
    bytes its Python session holds them for good."""

    def __init__(self, model_bytes: "bytes | Path | None" = None, emap: "np.ndarray | None" = None, *,
                 read: "Callable[[], tuple[bytes | Path | None, np.ndarray | None]] | None" = None) -> None:
        self._value = None if read is not None else (model_bytes, emap)
        self._read = read
        self._lock = threading.Lock()

    def get(self) -> "tuple[bytes | Path | None, np.ndarray | None]":
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._read()
        return self._value


@dataclass(frozen=True, eq=False)
class PreparedModel:
    """One model file, read: its signature and what a session for it is made from."""

    sha256: str
    source: Path                        #: the model file itself
    signature: Signature
    kind: str | None = None             #: None: routing recognised no role (the catalog reports it)
    family: str | None = None
    graph_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    warning: str | None = None          #: logged whenever a session is made (e.g. YuNet kept at 640)
    payload: Payload = field(default_factory=Payload, repr=False)

    @property
    def model_bytes(self) -> bytes | None:
        """The fixed graph, when onnxruntime cannot take the file as it is."""
        graph = self.payload.get()[0]
        return graph.read_bytes() if isinstance(graph, Path) else graph

    @property
    def emap(self) -> "np.ndarray | None":
        """An inswapper's 512×512 emap."""
        return self.payload.get()[1]

    @property
    def session_source(self) -> bytes | str:
        """What ``onnxruntime.InferenceSession`` is given: the fixed graph (the cache entry's checked
        file, or its bytes when just prepared), or the model file's path."""
        graph = self.payload.get()[0]
        if isinstance(graph, Path):
            return str(graph)
        return graph if graph is not None else str(self.source)


class ModelCache:
    """Prepared models by sha256: in memory for this process, on disk under ``folder`` when given."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else None
        self._memory: dict[str, PreparedModel] = {}
        self._tensorrt: dict[str, bytes | None] = {}   #: sha256 → TensorRT's annotated graph (None: the model's own)
        self._unwritable = False
        self._lock = threading.RLock()
        #: how many files were parsed with onnx by this cache (what the cache saves; read by tests)
        self.parsed = 0

    def __repr__(self) -> str:
        return f"ModelCache({self.folder}, {len(self._memory)} in memory)"

    def get(self, path: Path | str, sha256: str) -> PreparedModel:
        """The prepared model of the file at ``path`` whose content hashes to ``sha256``.

        A file that is not a readable ONNX model raises
        :class:`~faceright.engine.models.errors.ModelFileCorruptError` (nothing is cached).
        """
        path = Path(path)
        with self._lock:   # a job's two loading threads read each model once between them
            found = self._memory.get(sha256)
            if found is not None:
                return found if found.source == path else _moved(found, path)
            found = self._load(path, sha256)
            if found is None:
                found = self._store(self._prepare(path, sha256))
            self._memory[sha256] = found
            return found

    # -- preparing (the one parse) ---------------------------------------------------------------

    def _prepare(self, path: Path, sha256: str) -> PreparedModel:
        proto = read_model(path)
        self.parsed += 1
        signature = signature_of(proto)
        try:
            found = route(signature, source=path)
        except UnknownModelError:
            return PreparedModel(sha256, path, signature)
        from onnx import numpy_helper

        from .fixups import fix_for_onnxruntime

        emap = None
        graph_options: dict[str, Any] = {}
        warning = None
        if found.kind == "swapper":
            from .routing import emap_initializer

            name = emap_initializer(signature)
            if name is not None:
                import numpy as np

                tensor = next(t for t in proto.graph.initializer if t.name == name)
                emap = np.ascontiguousarray(numpy_helper.to_array(tensor), dtype=np.float32)
        from_graph = getattr(backend_class(found.kind, found.family), "options_from_graph", None)
        if from_graph is not None:   # e.g. an MXNet ArcFace export that normalises inside its graph
            graph_options = dict(from_graph(proto))
        fixed = fix_for_onnxruntime(proto)
        changed = _inputs_and_nodes(fixed) != _inputs_and_nodes(proto)
        if found.kind == "detector" and found.family == "yunet":
            from .input_size import free_yunet_input_size

            try:  # one session for the 640 pass that finds faces and the windows that refine them
                fixed = free_yunet_input_size(fixed)
                changed = True
            except ModelError as exc:
                warning = f"YuNet model {path.name} keeps its fixed input size, so its landmarks are not refined: {exc}"
        return PreparedModel(
            sha256, path, signature, found.kind, found.family,
            graph_options=MappingProxyType(graph_options), warning=warning,
            payload=Payload(fixed.SerializeToString() if changed else None, emap),
        )

    # -- TensorRT's variant ---------------------------------------------------------------------------

    def tensorrt_source(self, prepared: PreparedModel) -> bytes | str:
        """What a TensorRT session is made from: :attr:`PreparedModel.session_source`, with every
        tensor's shape made explicit when the graph lacks any (:mod:`.shapes`). Done once per
        content and kept in the entry (``tensorrt.json``, ``tensorrt.onnx``); where the shapes
        cannot be inferred (no sympy, an operator the tool cannot follow) the model is used as it
        is, with a warning, and asked again by the next process."""
        key = prepared.sha256
        if key in self._tensorrt:
            found = self._tensorrt[key]
            return prepared.session_source if found is None else found
        entry = self._entry(key)
        found, known = self._load_tensorrt(entry)
        if not known:
            import onnx

            from .shapes import needs_shapes, with_explicit_shapes

            source = prepared.session_source   # the fixed graph (our own bytes) or the checked file
            proto = onnx.load_from_string(source) if isinstance(source, bytes) else read_model(Path(source))
            self.parsed += 1
            try:
                found = with_explicit_shapes(proto).SerializeToString() if needs_shapes(proto) else None
            except FaceRightError as exc:
                log.warning("model %s goes to TensorRT without explicit shapes (TensorRT may hand parts of it "
                            "to CUDA): %s", prepared.source.name, exc)
                self._tensorrt[key] = None
                return prepared.session_source
            self._store_tensorrt(entry, found)
        self._tensorrt[key] = found
        return prepared.session_source if found is None else found

    def _load_tensorrt(self, entry: Path | None) -> tuple[bytes | None, bool]:
        """(the annotated graph or None when none is needed, whether the entry said so)."""
        if entry is None or not (entry / "tensorrt.json").is_file():
            return None, False
        try:
            data = json.loads((entry / "tensorrt.json").read_text(encoding="utf-8"))
            if data.get("format") != PREPARED_FORMAT:
                return None, False
            if data.get("model") is None:
                return None, True
            model = _read_checked(entry, data["model"])
            return model, model is not None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("TensorRT cache entry %s is unusable (%s): inferring its shapes again", entry, exc)
            return None, False

    def _store_tensorrt(self, entry: Path | None, model: bytes | None) -> None:
        if entry is None or self._unwritable:
            return
        try:
            entry.mkdir(parents=True, exist_ok=True)
            data = {"format": PREPARED_FORMAT,
                    "model": _write_checked(entry / "tensorrt.onnx", model) if model is not None else None}
            write_replacing(entry / "tensorrt.json", (json.dumps(data, indent=1) + "\n").encode("utf-8"))
        except (OSError, FaceRightError) as exc:
            self._unwritable = True
            log.warning("model cache %s cannot be written (%s): each run reads its models again", self.folder, exc)

    # -- the disk -----------------------------------------------------------------------------------

    def _entry(self, sha256: str) -> Path | None:
        return None if self.folder is None else self.folder / sha256[:2] / sha256

    def _load(self, path: Path, sha256: str) -> PreparedModel | None:
        """The entry's description of the model; its graph and emap are read when first used."""
        entry = self._entry(sha256)
        if entry is None or not (entry / "prepared.json").is_file():
            return None
        try:
            data = json.loads((entry / "prepared.json").read_text(encoding="utf-8"))
            if data.get("format") != PREPARED_FORMAT or data.get("sha256") != sha256:
                return None
            return PreparedModel(
                sha256, path, Signature.from_json(data["signature"]), data.get("kind"), data.get("family"),
                graph_options=MappingProxyType(dict(data.get("graph_options") or {})), warning=data.get("warning"),
                payload=Payload(read=lambda: self._read_payload(entry, data, path, sha256)),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("prepared-model cache entry %s is unusable (%s): reading %s again", entry, exc, path)
            return None

    def _read_payload(self, entry: Path, data: Mapping[str, Any], path: Path,
                      sha256: str) -> "tuple[bytes | Path | None, np.ndarray | None]":
        """The entry's graph (its file) and emap, checked against their recorded hashes; an entry
        damaged since it was described is prepared from the model file again (and rewritten). The
        hashes find damage; entries are replaced whole (:func:`~faceright.atomic.write_replacing`),
        so the file onnxruntime reads after the check is this one or another whole entry's."""
        try:
            model_file = _checked_file(entry, data.get("model"))
            emap = None
            if data.get("emap") is not None:
                import numpy as np

                emap = np.load(io.BytesIO(_read_checked(entry, data["emap"])), allow_pickle=False)
            return model_file, emap
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("prepared-model cache entry %s is unusable (%s): reading %s again", entry, exc, path)
        with self._lock:
            fresh = self._store(self._prepare(path, sha256))
        return fresh.payload.get()

    def _store(self, prepared: PreparedModel) -> PreparedModel:
        """Keep ``prepared`` in its entry; what is returned holds the written graph as the entry's file
        (its bytes are not kept), or is ``prepared`` itself where nothing was written."""
        entry = self._entry(prepared.sha256)
        if entry is None or self._unwritable:
            return prepared
        data: dict[str, Any] = {
            "format": PREPARED_FORMAT, "sha256": prepared.sha256, "source": str(prepared.source),
            "signature": prepared.signature.to_json(), "kind": prepared.kind, "family": prepared.family,
            "graph_options": dict(prepared.graph_options), "warning": prepared.warning, "model": None, "emap": None,
        }
        try:
            entry.mkdir(parents=True, exist_ok=True)
            if prepared.model_bytes is not None:
                data["model"] = _write_checked(entry / "model.onnx", prepared.model_bytes)
            if prepared.emap is not None:
                import numpy as np

                buffer = io.BytesIO()
                np.save(buffer, prepared.emap, allow_pickle=False)
                data["emap"] = _write_checked(entry / "emap.npy", buffer.getvalue())
            write_replacing(entry / "prepared.json", (json.dumps(data, indent=1) + "\n").encode("utf-8"))
        except (OSError, FaceRightError) as exc:   # an unwritable cache never fails the job
            self._unwritable = True
            log.warning("model cache %s cannot be written (%s): each run reads its models again", self.folder, exc)
            return prepared
        if data["model"] is None:
            return prepared
        from dataclasses import replace

        return replace(prepared, payload=Payload(entry / "model.onnx", prepared.emap))


def _inputs_and_nodes(model: Any) -> tuple[tuple[str, ...], int]:
    return tuple(i.name for i in model.graph.input), len(model.graph.node)


def _moved(found: PreparedModel, path: Path) -> PreparedModel:
    """The same content under another path (a copy of a shipped model, say)."""
    from dataclasses import replace

    return replace(found, source=path)


def _write_checked(path: Path, data: bytes) -> dict[str, str]:
    write_replacing(path, data)
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest()}


def _entry_file(entry: Path, item: Mapping[str, str]) -> Path:
    name = str(item["file"])
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"entry names {name!r}")
    return entry / name


def _read_checked(entry: Path, item: Mapping[str, str] | None) -> bytes | None:
    if item is None:
        return None
    data = _entry_file(entry, item).read_bytes()
    if hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise ValueError(f"{item['file']} does not hash as recorded")
    return data


def _checked_file(entry: Path, item: Mapping[str, str] | None) -> Path | None:
    """The entry's file named by ``item``, hashed as it is read in pieces (never held whole)."""
    if item is None:
        return None
    path = _entry_file(entry, item)
    if file_sha256(path) != item["sha256"]:
        raise ValueError(f"{item['file']} does not hash as recorded")
    return path
