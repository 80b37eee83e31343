"""One plan for the machine's cores: onnxruntime, OpenCV and the codecs share them.

A swap runs four pipeline stages at once (decode, analyse, swap + paste-back, encode), and
each library brings its own thread pool: onnxruntime's intra-op pool per session, OpenCV's
``parallel_for`` pool (warps, resizes, colour conversions), FFmpeg's frame/slice threads for
the decoder and for libx264. Left alone they each size themselves to every core and idle by
spinning, so on a small machine they run against each other. Measured on 2 cores
(``benchmarks/pipeline_fps.py``, figures in issue 12's note), the plan that wins is:

- **onnxruntime**: ``intra_op_threads`` per session (0: onnxruntime's default, the physical
  cores), with spinning **off** (``session.intra_op.allow_spinning = 0``): a session's idle
  threads sleep instead of burning the codecs' CPU between two calls (the pipeline hands a
  session one frame at a time, so spinning never pays for itself here);
- **OpenCV**: ``opencv_threads`` = 1: its per-call parallelism on one 1080p warp is small, and
  the pipeline's stages already give the cores work;
- **FFmpeg**: its own automatic thread counts (fixing them lower was measured slower).

:func:`apply_opencv_threads` sets OpenCV's pool, which is process-wide: the engine sets it when
a swap starts, to the value of its settings, and nothing else in faceright touches it.
"""
from __future__ import annotations

import logging

__all__ = ["apply_opencv_threads"]

log = logging.getLogger(__name__)


def apply_opencv_threads(threads: int) -> None:
    """OpenCV's thread pool to ``threads`` (0 leaves OpenCV's own default)."""
    if threads <= 0:
        return
    import cv2

    if cv2.getNumThreads() != threads:
        log.debug("OpenCV threads: %d -> %d", cv2.getNumThreads(), threads)
        cv2.setNumThreads(threads)
