"""Progress of long work: a plain callback for hosts, a terminal bar for the CLI."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    elapsed: float  #: seconds since the work started

    @property
    def fps(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[Progress], None]


class TerminalProgress:
    """A tqdm bar fed by :class:`Progress` reports; use as a callback, close when done."""

    def __init__(self, description: str, *, disable: bool = False) -> None:
        self.description = description
        self.disable = disable
        self._bar = None
        self._shown = 0

    def __call__(self, progress: Progress) -> None:
        if self.disable:   # --no-progress: no bar, and tqdm (~15 ms to import) is not imported
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=progress.total, desc=self.description, unit="frame")
        self._bar.update(progress.done - self._shown)
        self._shown = progress.done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
