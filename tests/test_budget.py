"""Frames in flight are bounded by bytes (engine/budget.py), so a 4K plate does not hold four
times the memory of a 1080p one."""
from __future__ import annotations

import pytest

from faceright.engine.budget import pipeline_sizes

pytestmark = pytest.mark.hostside   # arithmetic only: no onnxruntime needed


def test_1080p_keeps_the_configured_sizes_within_the_default_budget():
    sizes = pipeline_sizes(1920, 1080, queue_size=8, batch_size=8, memory_mb=256)
    assert (sizes.queue_size, sizes.batch_size) == (8, 8)
    assert sizes.in_flight_bytes <= 256 * 2**20


@pytest.mark.parametrize("width, height", [(3840, 2160), (4096, 2160), (2560, 1440), (7680, 4320)])
def test_larger_frames_wait_in_shorter_queues_within_the_budget(width, height):
    sizes = pipeline_sizes(width, height, queue_size=8, batch_size=8, memory_mb=256)
    assert sizes.frame_bytes == width * height * 3
    assert sizes.queue_size >= 1 and sizes.batch_size >= 1
    floor = pipeline_sizes(width, height, queue_size=1, batch_size=1, memory_mb=256)
    assert sizes.in_flight_bytes <= max(256 * 2**20, floor.in_flight_bytes)   # never below one per stage
    bigger = pipeline_sizes(width, height, queue_size=8, batch_size=8, memory_mb=1024)
    assert bigger.queue_size + bigger.batch_size >= sizes.queue_size + sizes.batch_size


def test_4k_shrinks_the_queues_before_the_batches():
    sizes = pipeline_sizes(3840, 2160, queue_size=8, batch_size=8, memory_mb=512)
    assert sizes.queue_size < 8
    assert 3 * sizes.queue_size + sizes.batch_size + 4 <= 512 * 2**20 // sizes.frame_bytes
    assert sizes.batch_size == 8 or sizes.queue_size == 1


def test_a_tiny_budget_still_keeps_one_frame_per_queue_and_batch():
    sizes = pipeline_sizes(3840, 2160, queue_size=8, batch_size=8, memory_mb=0)
    assert (sizes.queue_size, sizes.batch_size) == (1, 1)

