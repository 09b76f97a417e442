"""The progress of a sweep: workers record simulated days, the main process draws a bar."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

from demandsim.outputs import is_complete_run
from demandsim.sweep.layout import PROGRESS_FILE, SCRATCH_DIR
from demandsim.sweep.plan import PlannedRun

#: how often a worker writes its progress file, at most (seconds of wall time)
PROGRESS_EVERY_S = 0.5


class SweepProgress:
    """A progress bar in the main process: runs done / total and simulated days / total.

    Workers (any launcher, on this machine or a shared file system) write their
    simulated days to ``.jobs/<n>/progress``; finished runs are counted from ``runs/``.
    Drawn only when stderr is a terminal.
    """

    def __init__(self, sweep_dir: Path, todo: list[PlannedRun], show: bool = True) -> None:
        self.sweep_dir, self.todo = sweep_dir, todo
        self.total_days = sum(r.days for r in todo)
        self._stop = threading.Event()
        self._thread = None
        self.bar = None
        if show and todo:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total_days, unit="day", disable=None, leave=False,
                            desc=f"sweep: runs 0/{len(todo)}",
                            bar_format="{desc}, simulated days: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} "
                                       "[{elapsed}<{remaining}]")
            if self.bar.disable:
                self.bar = None

    def __enter__(self):
        if self.bar is not None:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            self.bar.close()

    def state(self) -> tuple[int, float]:
        """(runs finished, simulated days done) of the runs to do."""
        done, days = 0, 0.0
        for run in self.todo:
            if is_complete_run(self.sweep_dir / run.folder):
                done, days = done + 1, days + run.days
        for f in (self.sweep_dir / SCRATCH_DIR).glob(f"*/{PROGRESS_FILE}"):
            try:
                days += float(f.read_text() or 0)
            except (OSError, ValueError):
                pass
        return done, min(days, self.total_days)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            done, days = self.state()
            self.bar.set_description_str(f"sweep: runs {done}/{len(self.todo)}", refresh=False)
            self.bar.update(days - self.bar.n)


def progress_writer(scratch: Path, every_s: float = PROGRESS_EVERY_S, clock=time.monotonic):
    """``on_progress(days)`` for a worker: records simulated days for :class:`SweepProgress`.

    Writes at most once every ``every_s`` seconds of wall time (and always a reset to 0):
    a file written per simulated day cost a fast run of a year about a fifth of its time.

    Example:
        >>> import tempfile
        >>> write = progress_writer(Path(tempfile.mkdtemp()), every_s=3600)
        >>> write(1.0); write(2.0)  # the second comes too soon: skipped
    """
    target = scratch / PROGRESS_FILE
    last = [-math.inf]

    def write(days: float) -> None:
        now = clock()
        if days and now - last[0] < every_s:
            return
        last[0] = now
        try:
            tmp = target.with_name(f".{PROGRESS_FILE}.tmp")
            tmp.write_text(f"{days:g}")
            os.replace(tmp, target)
        except OSError:
            pass

    return write
