"""Large frames' freed memory goes back to the system (engine/budget.py: return_freed_memory), so
a 4K swap's peak is not raised by what glibc's heaps keep."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

_FREED = r'''
import sys
import numpy as np
from faceright.engine.budget import return_freed_memory

def rss():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) * 1024

print(return_freed_memory(int(sys.argv[1])))
# a 4K frame freed: glibc's own threshold rises to its size, so that 2 MB blocks then come from its heap
frame = np.ones(25 << 20, np.uint8); del frame
kept, blocks = [], []
for _ in range(40):        # 2 MB face regions between small objects that live on
    blocks.append(np.ones(2 << 20, np.uint8))
    kept.append(np.ones(64 << 10, np.uint8))
before = rss()
del blocks
print(before - rss())
'''


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt's parameters are glibc's: elsewhere return_freed_memory does nothing")
def test_large_frames_give_freed_blocks_back_to_the_system():
    def run(frame_bytes: int) -> tuple[str, int]:
        done = subprocess.run([sys.executable, "-c", _FREED, str(frame_bytes)], capture_output=True, text=True,
                              check=True).stdout.split()
        return done[0], int(done[1])

    done, given_back = run(3840 * 2160 * 3)          # a UHD BGR frame
    assert done == "True"
    assert given_back >= 70 << 20                     # the 80 MB of blocks left the process
    done, given_back = run(1920 * 1080 * 3)          # 1080p: glibc's own behaviour (it keeps them, and is faster)
    assert done == "False"
    assert given_back < 20 << 20
