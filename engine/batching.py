"""The one batch-and-pad loop: run a model over any number of rows in the chunks it takes.

A model with a fixed batch ``B`` gets chunks of exactly ``B`` rows (the last one zero-padded,
and the padding's outputs dropped); a dynamic one gets chunks of ``chunk`` rows. Every feed
and every output has the batch on axis 0. The session's ``run_batched``, the recognisers and
the inswapper all go through :func:`run_in_batches`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def run_in_batches(run: Callable[[dict[str, np.ndarray]], list[np.ndarray]], feeds: Mapping[str, np.ndarray], *,
                   chunk: int, fixed: int | None = None) -> list[np.ndarray]:
    """``run`` over ``feeds`` in chunks; the outputs of all chunks concatenated along axis 0.

    ``fixed``: the model's fixed batch (chunks are padded up to it); else ``chunk`` rows at a time.
    Returns an empty list when there are no rows.
    """
    arrays = {k: np.asarray(v) for k, v in feeds.items()}
    sizes = {k: (a.shape[0] if a.ndim else None) for k, a in arrays.items()}
    if not arrays or None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(f"batched inputs must share a batch axis 0, got sizes {sizes}")
    rows = fixed or chunk
    if rows < 1:
        raise ValueError(f"a batch must hold at least 1 row, got {rows}")
    n = next(iter(sizes.values()))
    parts: list[list[np.ndarray]] = []
    for start in range(0, n, rows):
        piece = {k: a[start:start + rows] for k, a in arrays.items()}
        real = next(iter(piece.values())).shape[0]
        if fixed and real < fixed:
            piece = {k: np.concatenate([a, np.zeros((fixed - real,) + a.shape[1:], a.dtype)]) for k, a in piece.items()}
        outputs = [np.asarray(out)[:real] for out in run(piece)]
        if not parts:
            parts = [[] for _ in outputs]
        for i, out in enumerate(outputs):
            parts[i].append(out)
    return [np.concatenate(p, axis=0) for p in parts]
