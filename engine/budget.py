"""How many frames may wait in the pipeline: bounded by bytes, not by a frame count.

The pipeline's three queues hold ``queue_size`` frames each and the swap stage gathers up to
``batch_size`` frames for one swapper call, so the frames in flight are about
``3 × queue_size + batch_size`` plus one per stage. At 1080p a BGR frame is 6.2 MB and the
configured 8 + 8 cost ~220 MB; at 4K the same counts cost four times that (the issue's 2.2 GB
peak). :func:`pipeline_sizes` shrinks both so that the frames in flight fit
``[engine] frame_memory_mb`` (default 256 MB), never below what keeps the stages overlapping
(one frame per queue, one per batch).

Bytes the stages free go back to the system for large frames (:func:`return_freed_memory`):
glibc's allocator otherwise keeps the freed face regions and frame buffers of a 4K run in its
heaps (about 140 MB more at the peak, measured by ``benchmarks/memory.py``).
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

log = logging.getLogger(__name__)

__all__ = ["PipelineSizes", "pipeline_sizes", "return_freed_memory", "LARGE_FRAME_BYTES"]

#: frames of this many bytes or more (beyond 2.5K: a UHD BGR frame is 24.9 MB) have their freed memory returned
LARGE_FRAME_BYTES = 16 * 1024 * 1024
#: blocks of this size or more are mapped on their own and unmapped when freed
_MAPPED_FROM = 1024 * 1024
#: free memory at a heap's top beyond this is given back
_TRIM_FROM = 4 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's <malloc.h>

#: frames the stages themselves hold besides the queues and the batch (decoder, analyser, encoder, paste-back)
_HELD_BY_STAGES = 4


@dataclass(frozen=True)
class PipelineSizes:
    queue_size: int
    batch_size: int
    frame_bytes: int

    @property
    def in_flight_bytes(self) -> int:
        return (3 * self.queue_size + self.batch_size + _HELD_BY_STAGES) * self.frame_bytes


def pipeline_sizes(width: int, height: int, *, queue_size: int, batch_size: int, memory_mb: int,
                   channels: int = 3, bytes_per_sample: int = 1) -> PipelineSizes:
    """The queue and batch sizes for frames of ``width``×``height``: the configured ones when they
    fit ``memory_mb``, else the largest that do (batches shrink last: they are what keep a GPU
    swapper fed), never below 1."""
    frame = max(1, width * height * channels * bytes_per_sample)
    budget = max(0, memory_mb) * 1024 * 1024
    frames = budget // frame - _HELD_BY_STAGES
    queue, batch = queue_size, batch_size
    while 3 * queue + batch > frames and queue > 1:
        queue -= 1
    while 3 * queue + batch > frames and batch > 1:
        batch -= 1
    return PipelineSizes(queue, batch, frame)


def return_freed_memory(frame_bytes: int) -> bool:
    """For frames of ``frame_bytes`` ≥ :data:`LARGE_FRAME_BYTES` on glibc, have blocks of 1 MiB or more
    mapped on their own (given back to the system when freed) and heaps trimmed beyond 4 MiB, then
    trim now; True when done.

    glibc raises its mapping threshold to the largest block freed so far, so after the first 4K
    frame the frame buffers and face regions (1-25 MB each) come from its heaps, which keep what
    they free: about 140 MB more RSS at the peak of a 4K swap. The price is the page faults of
    fresh memory for those blocks: about 5 % of a 4K swap's time, so frames smaller than
    :data:`LARGE_FRAME_BYTES` (1080p: 6.2 MB, well within its memory aim) are left as they are.
    The setting is the process's own (``mallopt``): the engine's processes (the CLI, the service,
    a farm task) are faceright's."""
    if frame_bytes < LARGE_FRAME_BYTES or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version   # glibc's; another C library's mallopt takes other parameters
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_FROM))
    trim(0)
    log.debug("freed blocks of %d bytes or more go back to the system (%d-byte frames): %s",
              _MAPPED_FROM, frame_bytes, done)
    return done
