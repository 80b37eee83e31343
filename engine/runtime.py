"""The inference runtime: onnxruntime sessions, owned by one explicit object.

A :class:`Runtime` holds **one session per (model sha256, device, providers)** and hands out
backends wrapped around them (:meth:`Runtime.load`, :meth:`Runtime.analyser`,
:meth:`Runtime.swapper`). Nothing here is module-level state: two runtimes (two GPUs, or a
test and the code under test) share nothing.

- **Providers** come from :class:`~faceright.engine.settings.EngineSettings` in the order
  TensorRT → CUDA → CPU, filtered to what ``onnxruntime.get_available_providers()`` offers,
  with options: TensorRT fp16 per settings and its engine + timing caches persisted under
  ``trt_cache_folder/ort-<version>`` (the first build takes minutes); CUDA on ``device_id``
  with cuDNN's exhaustive convolution search (once per input shape: few, since landmark
  refinement's windows are squares in steps of 32 px); CPU as is.
- **Fix-ups**: every model goes through
  :func:`faceright.engine.models.fixups.fix_for_onnxruntime` before a session is made from it;
  a YuNet detector also through :func:`faceright.engine.models.input_size.free_yunet_input_size`,
  so one session runs it at any input size (640 to find faces, small crops to refine landmarks).
  Both happen once per model content, in the catalog's :class:`~faceright.engine.models.prepared.ModelCache`
  (on disk under ``[engine] model_cache_dir``): a later process makes its sessions without ``onnx``.
- **I/O binding**: a :class:`Session` runs through ``io_binding()`` with ``OrtValue``\\ s on the
  session's device — on by default when the session runs on CUDA/TensorRT, and available on
  CPU too (same code, device ``"cpu"``), so the GPU path's code is what the tests run.
  Callers may pass ``OrtValue``\\ s already on the device and keep outputs there.
- **CUDA graphs**: a model whose inputs and outputs all have fixed shapes (inswapper_128) gets
  the provider's CUDA-graph option on a GPU (``[engine] cuda_graphs``), and its session runs every
  call through buffers bound once (:class:`~faceright.engine.fixed_binding.FixedBinding`), which
  the recorded graph replays; where the provider refuses the graph the session is made without it.
- **Batching**: :meth:`Session.run_batched` splits a batch along axis 0 to what the model
  takes: a fixed batch (inswapper's 1) loops, a dynamic one goes in chunks of ``batch_size``.

onnxruntime is imported on first use: a host-side install without it can still list models.
Absent, it raises :class:`DependencyMissingError`; two of its distributions installed side by
side (``onnxruntime`` and ``onnxruntime-gpu`` overwrite each other's files) raise
:class:`OnnxruntimeConflictError`.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from dataclasses import replace
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from faceright.errors import ConfigError, DependencyMissingError

from .backends import Detector, Recogniser, Swapper, check_backend
from .batching import run_in_batches
from .fixed_binding import FixedBinding, fixed_shapes
from .models.catalog import Catalog, ModelFile
from .models.errors import ModelError, ModelNotFoundError
from .models.routing import Route, backend_class, check_role
from .settings import EngineSettings, engine_settings
from .types import ModelKind

if TYPE_CHECKING:
    from .swap.on_device import OnDevice

__all__ = [
    "CPU",
    "CUDA",
    "ONNXRUNTIME_DISTRIBUTIONS",
    "OnnxruntimeConflictError",
    "Runtime",
    "Session",
    "TENSORRT",
    "import_onnxruntime",
    "installed_onnxruntime",
    "provider_options",
    "resolve_providers",
]

log = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)

#: distributions that all install the ``onnxruntime`` import package; exactly one may be present
ONNXRUNTIME_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
    "onnxruntime-rocm",
    "onnxruntime-silicon",
    "onnxruntime-training",
    "ort-nightly",
    "ort-nightly-gpu",
)

INSTALL_HINT = "install faceright[cpu] (onnxruntime) or faceright[gpu] (onnxruntime-gpu), not both"


class OnnxruntimeConflictError(DependencyMissingError):
    """More than one onnxruntime distribution is installed; they overwrite each other's files."""


def installed_onnxruntime() -> list[tuple[str, str]]:
    """The onnxruntime distributions installed, as (name, version), read from package metadata."""
    found = []
    for name in ONNXRUNTIME_DISTRIBUTIONS:
        try:
            found.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def import_onnxruntime() -> ModuleType:
    """The ``onnxruntime`` module, refusing a missing or doubled installation with a clear error."""
    dists = installed_onnxruntime()
    if len(dists) > 1:
        listed = ", ".join(f"{n} {v}" for n, v in dists)
        raise OnnxruntimeConflictError(
            f"several onnxruntime distributions are installed ({listed}); they share one import name and "
            f"overwrite each other's files. Uninstall them all (pip uninstall {' '.join(n for n, _ in dists)}) "
            f"and {INSTALL_HINT}"
        )
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as exc:
        raise DependencyMissingError(f"onnxruntime is not installed: {INSTALL_HINT}") from exc


def provider_options(name: str, settings: EngineSettings, ort_version: str) -> dict[str, Any]:
    """The options faceright gives provider ``name``."""
    if name == TENSORRT:
        cache = settings.trt_cache_folder / f"ort-{ort_version}"
        return {
            "device_id": settings.device_id,
            "trt_fp16_enable": bool(settings.fp16),
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
    if name == CUDA:
        return {"device_id": settings.device_id, "cudnn_conv_algo_search": "EXHAUSTIVE"}
    return {}


def resolve_providers(
    settings: EngineSettings, available: Sequence[str], ort_version: str = "unknown"
) -> list[tuple[str, dict[str, Any]]]:
    """The providers to use, with options: configured ones that onnxruntime offers, in
    faceright's order (TensorRT → CUDA → others as configured → CPU). CPU is always last,
    present even when not configured, so a session can always be made."""
    configured = list(dict.fromkeys(settings.providers))
    unknown = [p for p in configured if not p.endswith("ExecutionProvider")]
    if unknown:
        raise ConfigError(
            f"[engine] providers: {', '.join(unknown)} are not onnxruntime provider names "
            f"(e.g. {TENSORRT}, {CUDA}, {CPU})"
        )
    rank = {TENSORRT: 0, CUDA: 1, CPU: 3}
    chosen = sorted((p for p in configured if p in available), key=lambda p: rank.get(p, 2))
    missing = [p for p in configured if p not in available]
    if missing and not chosen and CPU not in configured:
        # only unavailable providers were asked for, and not the CPU: running on the CPU anyway
        # would quietly be what nobody asked (a farm node ten times slower than planned)
        raise ConfigError(
            f"providers {', '.join(configured)} (--providers or [engine] providers) are not offered by this "
            f"onnxruntime {ort_version}, which offers {', '.join(available) or 'none'}: "
            + ("install faceright[gpu] (onnxruntime-gpu) on a machine with an NVIDIA driver, or "
               if any(p in GPU_PROVIDERS for p in missing) else "")
            + f"add {CPU} to run on the CPU"
        )
    if missing:
        log.log(logging.INFO if CPU in configured else logging.WARNING,
                "providers not offered by this onnxruntime, skipped: %s", ", ".join(missing))
    if CPU not in chosen:
        chosen.append(CPU)
    return [(p, provider_options(p, settings, ort_version)) for p in chosen]


@dataclass(frozen=True)
class _SessionKey:
    sha256: str
    device: str
    providers: tuple[str, ...]


class Session:
    """An onnxruntime session and the device its tensors live on.

    Backends use it as they would an ``InferenceSession`` (``get_inputs()``,
    ``get_outputs()``, ``run(names, feeds)``); ``run`` goes through I/O binding when
    :attr:`io_binding` is set.
    """

    def __init__(
        self,
        inner: Any,
        *,
        ort: ModuleType,
        device: str = "cpu",
        device_id: int = 0,
        io_binding: bool = False,
        batch_size: int = 8,
        name: str = "",
        fixed: FixedBinding | None = None,
    ) -> None:
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        self.inner = inner
        self.ort = ort
        self.device = device
        self.device_id = device_id if device == "cuda" else 0
        self.io_binding = io_binding
        self.batch_size = batch_size
        self.name = name
        self.fixed = fixed   #: every call through buffers bound once (a CUDA graph's; engine/fixed_binding.py)
        self.input_names = [i.name for i in inner.get_inputs()]
        self.output_names = [o.name for o in inner.get_outputs()]

    def __repr__(self) -> str:
        binding = ", fixed binding" if self.fixed is not None else ", io-binding" if self.io_binding else ""
        return f"Session({self.name!r}, {self.device}:{self.device_id}, {self.get_providers()}{binding})"

    # -- InferenceSession's surface -------------------------------------------------------------

    def get_inputs(self) -> list[Any]:
        return self.inner.get_inputs()

    def get_outputs(self) -> list[Any]:
        return self.inner.get_outputs()

    def get_providers(self) -> list[str]:
        return self.inner.get_providers()

    def get_modelmeta(self) -> Any:
        return self.inner.get_modelmeta()

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any], run_options: Any = None) -> list:
        """As ``InferenceSession.run``: numpy arrays, in the order of ``output_names`` (None: all)."""
        if self.io_binding:
            return self.run_bound(input_feed, output_names, run_options=run_options)
        return self.inner.run(list(output_names) if output_names else None, dict(input_feed), run_options)

    # -- I/O binding ------------------------------------------------------------------------------

    def run_bound(
        self,
        feeds: Mapping[str, Any],
        output_names: Sequence[str] | None = None,
        *,
        keep_on_device: bool = False,
        run_options: Any = None,
    ) -> list:
        """Run through ``io_binding()``: inputs as ``OrtValue``\\ s on this session's device
        (numpy arrays are copied there once; ``OrtValue``\\ s already there are bound as they
        are), outputs allocated on the device. Returns numpy arrays, or the device
        ``OrtValue``\\ s with ``keep_on_device`` (to feed another session without a round trip).
        A session with a :attr:`fixed` binding copies the inputs into its own buffers instead."""
        self._check_feeds(feeds)
        if self.fixed is not None:
            return self.fixed.run(feeds, output_names, keep_on_device=keep_on_device, run_options=run_options)
        names = list(output_names) if output_names else self.output_names
        binding = self.inner.io_binding()
        keep_alive = self._bind_inputs(binding, feeds)   # alive until the run is over
        for name in names:
            binding.bind_output(name, self.device, self.device_id)
        self.inner.run_with_iobinding(binding, run_options)
        del keep_alive
        if keep_on_device:
            return list(binding.get_outputs())
        return list(binding.copy_outputs_to_cpu())

    def run_into(self, feeds: Mapping[str, Any], outputs: Mapping[str, Any], *, run_options: Any = None) -> Any:
        """Run with each output written into the ``OrtValue`` given for it (a buffer on this session's
        device that another session reads next, e.g. a CUDA-graph session's bound input); returns
        the first of them."""
        self._check_feeds(feeds)
        binding = self.inner.io_binding()
        keep_alive = self._bind_inputs(binding, feeds)   # alive until the run is over
        for name, value in outputs.items():
            binding.bind_ortvalue_output(name, value)
        self.inner.run_with_iobinding(binding, run_options)
        del keep_alive
        return next(iter(outputs.values()))

    def _bind_inputs(self, binding: Any, feeds: Mapping[str, Any]) -> list:
        """Bind ``feeds`` (numpy arrays copied to the device once, device values as they are); the
        values bound, which must stay alive until the run is over."""
        keep_alive = []
        for name, value in feeds.items():
            if not isinstance(value, self.ort.OrtValue):
                array = np.ascontiguousarray(value)
                keep_alive.append(array)
                value = self.ort.OrtValue.ortvalue_from_numpy(array, self.device, self.device_id)
            keep_alive.append(value)
            binding.bind_ortvalue_input(name, value)
        return keep_alive

    def _check_feeds(self, feeds: Mapping[str, Any]) -> None:
        missing = [n for n in self.input_names if n not in feeds]
        extra = [n for n in feeds if n not in self.input_names]
        if missing or extra:
            raise ModelError(
                f"{self.name or 'model'}: feeds do not fit its inputs {', '.join(self.input_names)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )

    # -- batching ---------------------------------------------------------------------------------

    @property
    def max_batch(self) -> int | None:
        """The batch the model takes at most: its fixed leading dim (smallest over inputs), or
        None when every input's batch axis is dynamic."""
        fixed = [i.shape[0] for i in self.get_inputs() if i.shape and isinstance(i.shape[0], int) and i.shape[0] > 0]
        return min(fixed) if fixed else None

    def run_batched(
        self,
        feeds: Mapping[str, np.ndarray],
        output_names: Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> list[np.ndarray]:
        """Run a batch of any size: split along axis 0 into what the model takes, run, concatenate.

        A model with a fixed batch ``B`` gets chunks of ``B`` (the last one zero-padded and the
        padding dropped from the outputs); a dynamic one gets chunks of ``batch_size``
        (default: this session's). Every output's axis 0 must be the batch.
        """
        names = list(output_names) if output_names else self.output_names
        outputs = run_in_batches(lambda piece: self.run(names, piece), feeds,
                                 chunk=int(batch_size or self.batch_size), fixed=self.max_batch)
        return outputs or [np.zeros((0,)) for _ in names]   # no rows: nothing was run


class Runtime:
    """Sessions and backends for one engine configuration (one device).

    ``ort`` may be given (a test's fake, or an already imported module); else onnxruntime is
    imported, and checked, on first use. ``io_binding``: None binds on GPU sessions only;
    True / False force it for every session.
    """

    def __init__(
        self,
        settings: EngineSettings | None = None,
        *,
        catalog: Catalog | None = None,
        ort: ModuleType | None = None,
        io_binding: bool | None = None,
    ) -> None:
        self.settings = settings if settings is not None else engine_settings()
        self.catalog = catalog if catalog is not None else Catalog.from_settings(self.settings)
        #: every model a backend was made from, by model id (what a job's results record)
        self.loaded_models: dict[str, ModelFile] = {}
        self._ort = ort
        self.io_binding = io_binding
        self._sessions: dict[_SessionKey, Session] = {}
        self._emaps: dict[str, np.ndarray] = {}
        self._graph_options: dict[str, dict[str, Any]] = {}   #: backend options a model's graph implies
        self._nvenc: Any = None                               #: media.hwcodecs.Probe, made once
        self._on_device: dict[tuple[str, int], Any] = {}      #: OnDevice graphs, by device and crop size
        self._lock = threading.RLock()
        self._making: dict[_SessionKey, threading.Lock] = {}   #: a lock per session being made

    def __repr__(self) -> str:
        return f"Runtime({len(self._sessions)} sessions, models in {self.catalog.folder})"

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop every session (their device memory is freed when the backends holding them go)."""
        with self._lock:
            self._sessions.clear()
            self._emaps.clear()
            self._graph_options.clear()
            self._on_device.clear()

    # -- onnxruntime and providers ------------------------------------------------------------------

    @property
    def ort(self) -> ModuleType:
        if self._ort is None:
            self._ort = import_onnxruntime()
        return self._ort

    def available_providers(self) -> list[str]:
        return list(self.ort.get_available_providers())

    def providers(self, names: Sequence[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Providers with options for a session: ``names`` (e.g. a CLI ``--providers``) or the settings'."""
        settings = self.settings
        if names is not None:
            settings = _replace_providers(settings, tuple(names))
        return resolve_providers(settings, self.available_providers(), getattr(self.ort, "__version__", "unknown"))

    @property
    def on_gpu(self) -> bool:
        """Whether this runtime's sessions run on CUDA or TensorRT."""
        return any(name in GPU_PROVIDERS for name, _ in self.providers())

    def nvenc(self) -> Any:
        """Whether NVENC opens on this runtime's device (:func:`~faceright.engine.media.hwcodecs.probe_nvenc`,
        tried once per runtime: a service's warm runtime does not probe per job)."""
        with self._lock:
            if self._nvenc is None:
                from .media.hwcodecs import probe_nvenc

                self._nvenc = probe_nvenc(device_id=self.settings.device_id)
            return self._nvenc

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    # -- sessions -------------------------------------------------------------------------------------

    def session(self, model: ModelFile, *, providers: Sequence[str] | None = None) -> Session:
        """The session for ``model`` on this runtime's device, made once and then reused."""
        chosen = self.providers(providers)
        names = tuple(p for p, _ in chosen)
        device = f"cuda:{self.settings.device_id}" if any(p in GPU_PROVIDERS for p in names) else "cpu"
        key = _SessionKey(model.sha256, device, names)
        with self._lock:
            found = self._sessions.get(key)
            if found is not None:
                return found
            making = self._making.setdefault(key, threading.Lock())
        # made under its own key's lock: two threads loading different models (the job's analyser and
        # the license's recogniser, engine/jobs/swap.py) make their sessions at once, onnxruntime
        # releasing the GIL meanwhile; two asking for the same model get one session
        with making:
            with self._lock:
                found = self._sessions.get(key)
            if found is not None:
                return found
            session = self._create(model, chosen)
            with self._lock:
                self._sessions[key] = session
                self._making.pop(key, None)
            return session

    def _create(self, model: ModelFile, chosen: list[tuple[str, dict[str, Any]]]) -> Session:
        ort = self.ort
        prepared = self.catalog.prepared(model)   # read once per content, cached by sha256
        if prepared.emap is not None:
            self._emaps[model.sha256] = prepared.emap
        if prepared.graph_options:
            self._graph_options[model.sha256] = dict(prepared.graph_options)
        if prepared.warning:
            log.warning("%s", prepared.warning)
        for name, options in chosen:
            if name == TENSORRT:
                Path(options["trt_engine_cache_path"]).mkdir(parents=True, exist_ok=True)
        options = self._session_options()
        source = prepared.session_source
        if any(name == TENSORRT for name, _ in chosen):   # TensorRT wants every tensor's shape (models/shapes.py)
            source = self.catalog.tensorrt_source(model)
        # fixed shapes on a GPU: recorded once as a CUDA graph and replayed (engine/fixed_binding.py)
        graph = self.settings.cuda_graphs and fixed_shapes(prepared.signature)
        inner = None
        if graph and any(name in GPU_PROVIDERS for name, _ in chosen):
            try:
                inner = self._inference_session(model, source, options, _with_cuda_graph(chosen))
            except ModelError as exc:   # e.g. a node the GPU provider does not run: no graph then
                log.info("model %r runs without a CUDA graph: %s", model.name, exc)
        if inner is not None and not _fixed_io(inner):   # a fixed-up graph whose sizes are free (YuNet's)
            inner, graph = None, False
        if inner is None:
            inner = self._inference_session(model, source, options, chosen)
        graph = graph and _fixed_io(inner)
        used = list(inner.get_providers())
        on_gpu = any(p in GPU_PROVIDERS for p in used)
        if not on_gpu and any(p in GPU_PROVIDERS for p, _ in chosen):
            log.warning("model %r runs on CPU: onnxruntime could not use %s", model.name,
                        ", ".join(p for p, _ in chosen if p in GPU_PROVIDERS))
        bind = on_gpu if self.io_binding is None else self.io_binding
        device = "cuda" if on_gpu else "cpu"
        fixed = None
        if graph and bind:   # on the CPU only when binding is forced: the GPU path's code, run by the tests
            fixed = FixedBinding(inner, ort, device, self.settings.device_id,
                                 [(i.name, i.shape, _numpy_type(i.type)) for i in inner.get_inputs()],
                                 [(o.name, o.shape, _numpy_type(o.type)) for o in inner.get_outputs()],
                                 name=model.name)
        log.info("session for %s %r on %s (%s%s)", model.family, model.name, "GPU" if on_gpu else "CPU",
                 ", ".join(used), ", CUDA graph" if fixed is not None and on_gpu else "")
        return Session(
            inner, ort=ort, device=device, device_id=self.settings.device_id,
            io_binding=bind, batch_size=self.settings.batch_size, name=model.name, fixed=fixed,
        )

    def _session_options(self) -> Any:
        options = self.ort.SessionOptions()
        options.log_severity_level = 3  # this session only: no warnings about initializers nothing reads
        if self.settings.intra_op_threads > 0:
            options.intra_op_num_threads = self.settings.intra_op_threads
        if not self.settings.ort_spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options

    def _inference_session(self, model: Any, source: Any, options: Any,
                           chosen: list[tuple[str, dict[str, Any]]]) -> Any:
        try:
            return self.ort.InferenceSession(
                source,
                sess_options=options,
                providers=[name for name, _ in chosen],
                provider_options=[opts for _, opts in chosen],
            )
        except Exception as exc:  # onnxruntime raises its own exception types, not importable by name
            raise ModelError(
                f"onnxruntime cannot load model {model.name!r} ({model.path}) with "
                f"{', '.join(n for n, _ in chosen)}: {exc}"
            ) from exc

    def emap(self, model: ModelFile) -> np.ndarray:
        """The 512×512 ``emap`` of a swapper model (read with its session)."""
        if model.sha256 not in self._emaps:
            self.session(model)
        try:
            return self._emaps[model.sha256]
        except KeyError:
            raise ModelError(f"model {model.name!r} ({model.path}) carries no emap initializer") from None

    # -- backends ---------------------------------------------------------------------------------------

    def model(self, kind: ModelKind, name: str | Path | None = None) -> ModelFile:
        """The catalog's model for ``kind`` (by name or path when given)."""
        return self.catalog.find(kind, name)

    def load(
        self, model: ModelFile | str | Path, kind: ModelKind | None = None, *,
        providers: Sequence[str] | None = None, **options: Any,
    ) -> Any:
        """The backend for ``model``, the class chosen by its signature, checked against its protocol.

        ``model``: a catalog :class:`ModelFile`, a catalog name or a file path; with ``kind``,
        a model of another kind is refused (:class:`ModelRoleError`). ``options`` go to the
        backend's constructor (``threshold=`` for a detector, ...).
        """
        if not isinstance(model, ModelFile):
            if kind is not None:
                model = self.catalog.find(kind, model)
            else:
                named = [m for m in self.catalog.all() if m.name == str(model)]
                model = named[0] if named else self.catalog.open(model)
        elif kind is not None and model.kind != kind:
            check_role(Route(model.kind, model.family, model.signature.describe()), kind, source=model.path)
        cls = backend_class(model.kind, model.family)
        session = self.session(model, providers=providers)
        for name, value in self._graph_options.get(model.sha256, {}).items():
            options.setdefault(name, value)
        if model.kind == "swapper" and model.family == "inswapper":
            options.setdefault("emap", self.emap(model))
            options.setdefault("batch_size", self.settings.batch_size)
            if "on_device" not in options and options.get("pixel_boost", 128) == 128:
                options["on_device"] = self.on_device(session, 128)
        backend = cls(session, model_id=model.model_id, **options)
        check_backend(backend, _PROTOCOLS[model.kind])
        self.loaded_models[model.model_id] = model
        return backend

    def detector(self, name: str | Path | None = None, **options: Any) -> Detector:
        options.setdefault("threshold", self.settings.det_threshold)
        return self.load(self.model("detector", name if name is not None else self.settings.detector),
                         "detector", **options)

    def recogniser(self, name: str | Path | None = None, **options: Any) -> Recogniser:
        return self.load(self.model("recogniser", name if name is not None else self.settings.recogniser),
                         "recogniser", **options)

    def analyser(
        self, detector: str | Path | None = None, recogniser: str | Path | None = None, *, refine: bool | None = None
    ) -> Any:
        """``FaceAnalyser(detector, recogniser)`` from the best (or named) models; landmarks refined
        per ``refine``, else per the settings' ``refine_landmarks`` (on by default)."""
        from .analysis import FaceAnalyser

        refine = self.settings.refine_landmarks if refine is None else refine
        return FaceAnalyser(self.detector(detector), self.recogniser(recogniser), refine=refine)

    def swapper(self, name_or_path: str | Path | None = None, **options: Any) -> Swapper:
        """A swap backend: the named model, else the configured or best installed one, else
        the weight-free classic backend (``name_or_path="classic"`` asks for it)."""
        wanted = name_or_path if name_or_path is not None else self.settings.swapper
        if wanted is None:
            try:
                model = self.catalog.find("swapper")
            except ModelNotFoundError:
                log.info("no swap model installed: using the classic backend")
                return self._classic(**options)
            return self.load(model, "swapper", **options)
        if str(wanted) == "classic":
            return self._classic(**options)
        return self.load(self.model("swapper", wanted), "swapper", **options)

    def on_device(self, swapper: Session, size: int) -> OnDevice | None:
        """The align and paste graphs on ``swapper``'s device (:mod:`.swap.on_device`), per
        ``[engine] gpu_paste``: with GPU sessions (``auto``), always (``on``: the CPU provider runs
        them too), never (``off``: the CPU's OpenCV paste-back)."""
        mode = self.settings.gpu_paste
        if mode == "off" or (mode == "auto" and swapper.device != "cuda"):
            return None
        from .swap.on_device import OnDevice, graph_bytes

        key = (swapper.device, size)
        with self._lock:
            found = self._on_device.get(key)
            if found is None:
                chosen = [(p, o) for p, o in self.providers() if p != TENSORRT]   # shapes vary per frame size
                if swapper.device == "cpu":
                    chosen = [(p, o) for p, o in chosen if p not in GPU_PROVIDERS]
                folder = self.settings.model_cache_folder / "device-graphs"
                sessions = []
                for kind in ("align", "paste"):
                    data = graph_bytes(kind, size, folder)
                    inner = self._inference_session(_GraphModel(f"faceright {kind}", folder), data,
                                                    self._session_options(), chosen)
                    sessions.append(Session(inner, ort=self.ort, device=swapper.device,
                                            device_id=self.settings.device_id, io_binding=True,
                                            name=f"faceright {kind}"))
                found = self._on_device[key] = OnDevice(*sessions, size=size)
                log.info("faces are aligned and pasted back on %s (%s)", swapper.device,
                         ", ".join(p for p, _ in chosen))
            return found

    def _classic(self, **options: Any) -> Swapper:
        cls = backend_class("swapper", "classic")
        backend = cls(**options)
        check_backend(backend, Swapper)
        return backend


@dataclass(frozen=True)
class _GraphModel:
    """What an error message names for one of faceright's own graphs (not a model file)."""

    name: str
    path: Path


_PROTOCOLS: Mapping[str, type] = MappingProxyType({"detector": Detector, "recogniser": Recogniser, "swapper": Swapper})


def _fixed_io(inner: Any) -> bool:
    """Whether every input and output of the session ``inner`` has a fixed shape."""
    return all(all(isinstance(d, int) and d > 0 for d in (t.shape or [None]))
               for t in [*inner.get_inputs(), *inner.get_outputs()])


def _with_cuda_graph(chosen: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """``chosen`` with each GPU provider's CUDA-graph option on."""
    extra = {CUDA: {"enable_cuda_graph": "1"}, TENSORRT: {"trt_cuda_graph_enable": True}}
    return [(name, {**opts, **extra.get(name, {})}) for name, opts in chosen]


_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
              "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(uint8)": "uint8", "tensor(int8)": "int8",
              "tensor(bool)": "bool"}


def _numpy_type(ort_type: str) -> str:
    """The numpy dtype of an onnxruntime tensor type string (``tensor(float)`` → ``float32``)."""
    try:
        return _ORT_TYPES[ort_type]
    except KeyError:
        raise ModelError(f"tensor type {ort_type} has no fixed binding here") from None


def _replace_providers(settings: EngineSettings, providers: tuple[str, ...]) -> EngineSettings:
    if not providers:
        raise ConfigError("providers: give at least one onnxruntime provider name")
    return replace(settings, providers=providers)

