"""The core's progress reports (:mod:`faceright.progress`), as the engine's modules name them."""
from faceright.progress import Progress, ProgressCallback, TerminalProgress  # noqa: F401
