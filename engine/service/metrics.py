"""/metrics in Prometheus' text format: queues, jobs by state, frames per second, model load, memory."""
from __future__ import annotations

import os
from typing import Any

from faceright.service.protocol import STATES


def metrics_text(dispatcher: Any) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, Any], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(f"{name}{{{label}}} {value:g}" if label else f"{name} {value:g}")

    queued = dispatcher.queue_lengths()
    running = dispatcher.running_jobs()
    counts = dispatcher.store.counts()
    c = dispatcher.counters
    metric("faceright_queue_length", "gauge", "Jobs waiting, per device.", [({"device": d}, n) for d, n in queued.items()])
    metric("faceright_device_busy", "gauge", "1 while the device runs a job.",
           [({"device": d}, 1.0 if job else 0.0) for d, job in running.items()])
    metric("faceright_jobs", "gauge", "Jobs in the store, by state.", [({"state": s}, counts[s]) for s in STATES])
    metric("faceright_jobs_finished_total", "counter", "Jobs this process ran to an end (any end).",
           [({}, c.jobs_finished)])
    metric("faceright_jobs_refused_busy_total", "counter", "Submissions answered 429 (queue full).",
           [({}, c.refused_busy)])
    metric("faceright_frames_total", "counter", "Frames written by this process's jobs.", [({}, c.frames)])
    metric("faceright_frames_per_second", "gauge", "Frames written per second of job time, since start.",
           [({}, c.frames / c.busy_s if c.busy_s > 0 else 0.0)])
    metric("faceright_model_load_seconds", "gauge", "Time each device's engine took to load its models at start.",
           [({"device": d}, s) for d, s in sorted(c.model_load_s.items())])
    rss = _rss_bytes()
    if rss is not None:
        metric("faceright_process_resident_memory_bytes", "gauge", "The service process's resident memory.",
               [({}, rss)])
    return "\n".join(lines) + "\n"


def _rss_bytes() -> float | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return float(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
