"""One plan for the machine's cores: onnxruntime, OpenCV and the codecs share them.

A swap runs four pipeline stages at once (decode, analyse, swap + paste-back, encode), and
each library brings its own thread pool: onnxruntime's intra-op pool per session, OpenCV's
``parallel_for`` pool (warps, resizes, colour conversions), FFmpeg's frame/slice threads for
the decoder and for libx264. Left alone they each size themselves to every core and idle by
spinning, so on a small machine they run against each other. Measured on 2 cores (96 frames
1080p, classic, three interleaved rounds; figures in issue 12's note):

- **onnxruntime**: spinning **off** (``session.intra_op.allow_spinning = 0``, ``[engine]
  ort_spinning = false``): a session's idle threads sleep instead of burning the codecs' CPU
  between two calls; the pipeline hands a session one frame at a time, so spinning never pays
  for itself here (pipeline 6.4–7.0 s → 4.6–5.9 s, CPU 10.6–12.8 s → 8.4–10.7 s).
  ``intra_op_threads`` stays onnxruntime's default (1 measured the same, within the noise);
- **OpenCV**: its own default (``opencv_threads = 1`` measured no better on 2 cores; it is
  there for a farm node that shares its cores with other jobs);
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
