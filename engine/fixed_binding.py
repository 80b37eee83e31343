"""Fixed I/O bindings: the buffers a CUDA graph replays.

A CUDA graph (onnxruntime's ``enable_cuda_graph`` on the CUDA provider, ``trt_cuda_graph_enable``
on TensorRT) records a model's kernel launches on the first run and replays them afterwards with
one launch, which removes the per-kernel launch cost (a few µs each, hundreds of kernels per
swapper call) that dominates small batches on a fast GPU. A replay reads and writes the device
addresses it recorded, so a graph needs every input and output of fixed shape, bound once to
buffers that never move: :class:`FixedBinding` allocates them on the session's device, copies
each call's arrays into them in place (``OrtValue.update_inplace``) and copies the outputs back.

:func:`fixed_shapes` says whether a model qualifies (inswapper_128: ``target[1,3,128,128]``,
``source[1,512]`` → ``output[1,3,128,128]``; a detector that runs at many input sizes does not).
The same code runs on the CPU provider (buffers in host memory, no graph): that is what the tests
run; the graph itself is only recorded on a GPU.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping, Sequence

import numpy as np

from .models.errors import ModelError
from .models.signature import Signature

__all__ = ["FixedBinding", "fixed_shapes"]


def fixed_shapes(signature: Signature) -> bool:
    """Whether every input and output of ``signature`` has a fixed shape and a known type."""
    inputs = [t for t in signature.inputs if t.name not in signature.stale_inputs]
    tensors = [*inputs, *signature.outputs]
    return bool(inputs) and bool(signature.outputs) and all(
        t.dtype != "undefined" and all(isinstance(d, int) and d > 0 for d in t.shape) for t in tensors)


class FixedBinding:
    """The inputs and outputs of one session, bound once to buffers on ``device`` that stay put.

    ``inputs`` and ``outputs``: ``(name, shape, dtype)`` of each, as the model declares them.
    :meth:`run` is what the session's every call goes through (one at a time: the buffers are
    shared); results are copies, which the next call does not touch."""

    def __init__(self, inner: Any, ort: Any, device: str, device_id: int,
                 inputs: Sequence[tuple[str, Sequence[int], str]],
                 outputs: Sequence[tuple[str, Sequence[int], str]], *, name: str = "") -> None:
        self.inner, self.ort, self.device, self.name = inner, ort, device, name
        self.shapes = {n: (tuple(int(d) for d in shape), np.dtype(dtype)) for n, shape, dtype in inputs}
        self.output_names = [n for n, _, _ in outputs]
        self._binding = inner.io_binding()
        self._inputs: dict[str, Any] = {}
        self._outputs: list[Any] = []
        for n, (shape, dtype) in self.shapes.items():
            value = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), dtype, device, device_id)
            self._inputs[n] = value
            self._binding.bind_ortvalue_input(n, value)
        for n, shape, dtype in outputs:
            value = ort.OrtValue.ortvalue_from_shape_and_type([int(d) for d in shape], np.dtype(dtype), device,
                                                             device_id)
            self._outputs.append(value)
            self._binding.bind_ortvalue_output(n, value)
        #: held by each call; a caller that writes an input buffer on the device holds it around the call too
        self.lock = threading.RLock()
        self.runs = 0   #: calls so far (the first one records the graph on a GPU)

    def addresses(self) -> dict[str, int]:
        """Where each buffer lives (what a recorded graph reads and writes): the same after every run."""
        named = {**self._inputs, **dict(zip(self.output_names, self._outputs))}
        return {n: int(v.data_ptr()) for n, v in named.items()}

    def buffer(self, name: str) -> Any:
        """The bound buffer of input or output ``name``: another session may write an input there on
        the device (:meth:`faceright.engine.runtime.Session.run_into`) or read an output from it."""
        if name in self._inputs:
            return self._inputs[name]
        return self._outputs[self.output_names.index(name)]

    def run(self, feeds: Mapping[str, Any], output_names: Sequence[str] | None = None, *,
            keep_on_device: bool = False, run_options: Any = None) -> list:
        """Copy ``feeds`` into the bound inputs (an input not fed keeps what its buffer holds: what
        another session wrote there), run, and return the outputs named (all by default): numpy
        copies, or with ``keep_on_device`` the bound output buffers themselves (valid until the next
        call)."""
        arrays = {}
        for n, value in feeds.items():
            shape, dtype = self.shapes[n]
            if isinstance(value, self.ort.OrtValue):
                if value.device_name().lower() != "cpu":
                    raise ModelError(f"{self.name or 'model'}: a CUDA-graph session copies its inputs into its own "
                                     f"buffers; give {n!r} as a host array")
                value = value.numpy()
            array = np.ascontiguousarray(value, dtype=dtype)
            if array.shape != shape:
                raise ModelError(f"{self.name or 'model'}: input {n!r} has the fixed shape {list(shape)}, "
                                 f"got {list(array.shape)}")
            arrays[n] = array
        names = list(output_names) if output_names else self.output_names
        with self.lock:
            for n, array in arrays.items():
                self._inputs[n].update_inplace(array)
            self.inner.run_with_iobinding(self._binding, run_options)
            self.runs += 1
            if keep_on_device:
                return [self._outputs[self.output_names.index(n)] for n in names]
            found = self._binding.copy_outputs_to_cpu()
            return [np.array(found[self.output_names.index(n)], copy=True) for n in names]
