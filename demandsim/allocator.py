"""How this process's C allocator hands memory back: kept for the next run instead of returned.

A run allocates tens of megabytes of mid-sized arrays (a column of draws or of an
output table: 8 bytes x calls) and frees them at its end. glibc returns such blocks
to the operating system and the next run asks for them again, so every run pays a
page fault per 4 KiB it touches: on this project's virtual machine that was about a
third of a 20-day Erlang-A run (8,300 faults, 23 ms of kernel time against 50 ms of
simulation) and a sizeable share of each run of a sweep's worker.

:func:`keep_freed_memory` sets two glibc tunables once per process:

- ``M_MMAP_THRESHOLD`` = 4 MiB: blocks below it come from the heap, which the next
  run reuses without faulting; blocks from 4 MiB up are still mapped afresh, where
  numpy asks for transparent huge pages (its own threshold is 4 MiB too), so a big
  array faults in 2 MiB at a time and misses the TLB less (keeping those in the heap
  as well made a baseline year about 20% slower);
- ``M_TRIM_THRESHOLD`` = 1 GiB: freed heap memory stays with the process instead of
  going back to the system after every run.

The cost: a process keeps up to its high-water mark of small and mid-sized blocks
until it exits (a sweep's worker, a notebook); a run's peak memory grows by a few
megabytes (benchmarks/README.md records it). Nothing happens where the C library is not glibc
(macOS, musl), or when ``DEMANDSIM_KEEP_FREED_MEMORY=0``.

Example:
    >>> keep_freed_memory() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import os
import platform

#: glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 4 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024
ENV_SWITCH = "DEMANDSIM_KEEP_FREED_MEMORY"

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Tune glibc's allocator as the module docstring says, once; True if it was tuned."""
    global _done
    if _done is None:
        _done = _tune()
    return _done


def _tune() -> bool:
    if os.environ.get(ENV_SWITCH, "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; the threshold first, as setting it also fixes the trim default
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
