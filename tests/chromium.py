"""A real headless Chromium for the report tests: screenshot a page, dump its DOM.

The report must render in a browser, not just parse; Debian's ``chromium`` (which .ci/run
installs) draws it here exactly as an artist's browser would. Each call runs a fresh browser
with its own throw-away profile and a bounded time.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

#: seconds one headless run may take before the test fails (a cold start on 2 cores takes a few)
TIMEOUT_S = 90


def chromium_binary() -> str:
    """The Chromium on PATH; a missing one fails the test with how to install it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium (nor chromium-browser) on PATH: the report tests render the page in a real "
                "headless Chromium; .ci/run installs Debian's `chromium` (apt-get install chromium)")


def _run(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="faceright-chromium-") as profile:
        command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--no-default-browser-check", "--disable-dev-shm-usage", "--hide-scrollbars",
                   "--disable-extensions", "--disable-background-networking", "--mute-audio",
                   f"--user-data-dir={profile}", *flags, page.resolve().as_uri()]
        env = {**os.environ, "HOME": profile}
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"headless chromium did not finish {page} within {TIMEOUT_S} s: {exc.stderr!r}")
    if done.returncode != 0:
        pytest.fail(f"headless chromium failed on {page} (exit {done.returncode}): {done.stderr[-2000:]}")
    return done


def screenshot(page: Path, png: Path, *, width: int = 1280, height: int = 1800) -> Path:
    """A ``width`` x ``height`` screenshot of the top of ``page``, written to ``png``."""
    _run(page, f"--window-size={width},{height}", f"--screenshot={png}")
    if not png.is_file():
        pytest.fail(f"headless chromium wrote no screenshot of {page} to {png}")
    return png


def dump_dom(page: Path) -> str:
    """The DOM of ``page`` after Chromium parsed it, serialised back to HTML."""
    return _run(page, "--dump-dom").stdout
