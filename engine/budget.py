"""How many frames may wait in the pipeline: bounded by bytes, not by a frame count.

The pipeline's three queues hold ``queue_size`` frames each and the swap stage gathers up to
``batch_size`` frames for one swapper call, so the frames in flight are about
``3 × queue_size + batch_size`` plus one per stage. At 1080p a BGR frame is 6.2 MB and the
configured 8 + 8 cost ~220 MB; at 4K the same counts cost four times that (the issue's 2.2 GB
peak). :func:`pipeline_sizes` shrinks both so that the frames in flight fit
``[engine] frame_memory_mb`` (default 256 MB), never below what keeps the stages overlapping
(one frame per queue, one per batch).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PipelineSizes", "pipeline_sizes"]

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
