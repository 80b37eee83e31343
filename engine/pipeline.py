"""The streaming swap pipeline: decode → detect/select → swap/paste-back → encode.

Each stage runs in its own thread and hands frames to the next through a bounded queue, so
decoding, inference and encoding overlap and memory stays flat however long the clip is
(at most ``queue_size`` frames wait between two stages). Frames leave in the order they
came. A frame whose faces are not selected passes through untouched (the very array the
decoder produced). The first error in any stage stops every stage and is raised by
:meth:`SwapPipeline.run`; the caller's sink then discards its temporary output.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from .backends import Swapper
from .swap.pasteback import Coverage, coverage_map, paste_back
from .progress import Progress, ProgressCallback
from .select import Selection, TargetTracker
from .types import Donor, Face, Frame

log = logging.getLogger(__name__)

_END = object()


@dataclass
class StageTimes:
    decode: float = 0.0
    analyse: float = 0.0
    swap: float = 0.0
    encode: float = 0.0


@dataclass
class PipelineStats:
    frames: int = 0
    frames_swapped: int = 0
    faces_swapped: int = 0
    faces_skipped: int = 0       #: selected but refused by the swapper (e.g. strongly turned)
    seconds: float = 0.0
    busy: StageTimes = field(default_factory=StageTimes)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Item:
    index: int
    frame: Frame
    targets: list[Face] = field(default_factory=list)
    coverage: Coverage = field(default_factory=list)


class _Stop(Exception):
    """Raised inside a stage when another stage failed."""


class SwapPipeline:
    """Replace the selected faces of a frame stream by a donor face.

    ``analyse(frame, embed) -> list[Face]`` finds faces (``FaceAnalyser.faces``); ``swapper``
    follows the Swapper protocol; ``selection`` says which faces to replace. ``find_targets(frame,
    tracker)``, when given, finds the selected faces itself instead (``ClipFaceFinder.targets``:
    only the faces that will be replaced are refined and followed).
    """

    def __init__(
        self,
        analyse: Callable[..., list[Face]],
        swapper: Swapper,
        donor: Donor,
        selection: Selection,
        *,
        queue_size: int = 8,
        batch_size: int = 8,
        find_targets: Callable[[Frame, TargetTracker], list[Face]] | None = None,
    ) -> None:
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size must be at least 1")
        self.analyse = analyse
        self.find_targets = find_targets
        self.swapper = swapper
        self.donor = donor
        self.selection = selection
        self.queue_size = queue_size
        self.batch_size = batch_size
        self._prepared = swapper.prepare(donor)

    def run(
        self,
        frames: Iterable[tuple[int, Frame]],
        write: Callable[[int, Frame], None],
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
        swap_from: int | None = None,
        with_alpha: bool = False,
        frames_owned: bool = False,
    ) -> PipelineStats:
        """Stream ``frames`` through the stages into ``write``. Frames before ``swap_from`` (a farm
        chunk's lead-in from the key frame before it) are analysed, so faces are tracked from
        there, but neither swapped nor handed to ``write``. ``with_alpha`` calls
        ``write(index, frame, alpha)`` with how much of each pixel the faces replaced (H×W float32,
        None for a frame nothing was pasted into): a writer keeping a deep plate blends with it.
        ``frames_owned`` says each frame is a new array nobody else holds (a reader's
        ``fresh_frames``): the faces are pasted into it instead of into a copy."""
        stats = PipelineStats()
        stop = threading.Event()
        errors: list[BaseException] = []
        decoded: queue.Queue = queue.Queue(self.queue_size)
        analysed: queue.Queue = queue.Queue(self.queue_size)
        swapped: queue.Queue = queue.Queue(self.queue_size)
        started = time.perf_counter()

        def put(q: queue.Queue, item: object) -> None:
            while True:
                if stop.is_set():
                    raise _Stop
                try:
                    q.put(item, timeout=0.05)
                    return
                except queue.Full:
                    continue

        def get(q: queue.Queue) -> object:
            while True:
                if stop.is_set():
                    raise _Stop
                try:
                    return q.get(timeout=0.05)
                except queue.Empty:
                    continue

        def stage(name: str, body: Callable[[], None], out: queue.Queue | None) -> threading.Thread:
            def target() -> None:
                try:
                    body()
                except _Stop:
                    return
                except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                    log.debug("pipeline stage %s failed", name, exc_info=True)
                    errors.append(exc)
                    stop.set()
                    return
                if out is not None:
                    try:
                        put(out, _END)
                    except _Stop:
                        return

            thread = threading.Thread(target=target, name=f"faceright-{name}", daemon=True)
            thread.start()
            return thread

        def decode() -> None:
            iterator: Iterator[tuple[int, Frame]] = iter(frames)
            while True:
                t0 = time.perf_counter()
                try:
                    index, frame = next(iterator)
                except StopIteration:
                    return
                stats.busy.decode += time.perf_counter() - t0
                put(decoded, _Item(index, frame))

        def analyse() -> None:
            tracker = TargetTracker(self.selection)
            embed = self.selection.needs_embeddings
            find = self.find_targets or (lambda frame, tracker: tracker.select(self.analyse(frame, embed=embed)))
            while True:
                item = get(decoded)
                if item is _END:
                    return
                t0 = time.perf_counter()
                item.targets = find(item.frame, tracker)
                if swap_from is not None and item.index < swap_from:
                    item.targets = []
                stats.busy.analyse += time.perf_counter() - t0
                put(analysed, item)

        def swap() -> None:
            finished = False
            while not finished:
                batch: list[_Item] = []
                item = get(analysed)
                while True:
                    if item is _END:
                        finished = True
                        break
                    batch.append(item)
                    if len(batch) >= self.batch_size:
                        break
                    try:
                        item = analysed.get_nowait()
                    except queue.Empty:
                        break
                t0 = time.perf_counter()
                self._swap_batch(batch, stats, on_device=not with_alpha, in_place=frames_owned)
                stats.busy.swap += time.perf_counter() - t0
                for done in batch:
                    put(swapped, done)

        def encode() -> None:
            while True:
                item = get(swapped)
                if item is _END:
                    return
                t0 = time.perf_counter()
                if swap_from is not None and item.index < swap_from:
                    pass
                elif with_alpha:
                    write(item.index, item.frame, coverage_map(item.coverage, item.frame.shape))  # type: ignore[call-arg]
                else:
                    write(item.index, item.frame)
                stats.busy.encode += time.perf_counter() - t0
                stats.frames += 1
                if progress is not None:
                    progress(Progress(stats.frames, total, time.perf_counter() - started))

        threads = [
            stage("decode", decode, decoded),
            stage("analyse", analyse, analysed),
            stage("swap", swap, swapped),
            stage("encode", encode, None),
        ]
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.1)
        except BaseException:
            stop.set()
            for thread in threads:
                thread.join()
            raise
        stats.seconds = time.perf_counter() - started
        if errors:
            raise errors[0]
        return stats

    def _swap_batch(self, batch: Sequence[_Item], stats: PipelineStats, *, on_device: bool = True,
                    in_place: bool = False) -> None:
        jobs = [(item.frame, item.targets) for item in batch if item.targets]
        if not jobs:
            return
        if on_device and getattr(self.swapper, "on_device", None) is not None:
            # aligned, swapped and pasted back on the swapper's device (swap/on_device.py); a writer that
            # blends a deep plate needs the faces' weights, which the CPU's paste-back gives
            done = iter(self.swapper.swap_frames(jobs, self._prepared))
            for item in batch:
                if item.targets:
                    item.frame, count = next(done)
                    stats.faces_skipped += len(item.targets) - count
                    stats.frames_swapped += bool(count)
                    stats.faces_swapped += count
            return
        batched = getattr(self.swapper, "patches_batch", None)
        if callable(batched):
            per_frame = batched(jobs, self._prepared)
        else:
            per_frame = [self.swapper.patches(frame, targets, self._prepared) for frame, targets in jobs]
        it = iter(per_frame)
        for item in batch:
            if not item.targets:
                continue
            patches = next(it)
            stats.faces_skipped += len(item.targets) - len(patches)
            if patches:
                item.frame = paste_back(item.frame, patches, item.coverage, in_place=in_place)
                stats.frames_swapped += 1
                stats.faces_swapped += len(patches)
