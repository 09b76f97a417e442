"""The allocator tuning: on where the C library is glibc, off when asked."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHECK = "from demandsim.allocator import keep_freed_memory as k; print(k(), k())"


def _run(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DEMANDSIM_KEEP_FREED_MEMORY"}
    if env_value is not None:
        env["DEMANDSIM_KEEP_FREED_MEMORY"] = env_value
    return subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is glibc's mallopt")
def test_tuned_once_on_glibc():
    assert _run(None) == "True True"


def test_switched_off_by_the_environment():
    assert _run("0") == "False False"


def test_loading_an_engine_tunes_the_process():
    code = "import demandsim.allocator as a; from demandsim.engines import get_engine; " \
           "print(a._done); get_engine('simpy'); print(a._done)"
    on_glibc = str(platform.libc_ver()[0] == "glibc")
    env = {k: v for k, v in os.environ.items() if k != "DEMANDSIM_KEEP_FREED_MEMORY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["None", on_glibc]  # not tuned on import; tuned when an engine loads, where mallopt exists
    env["DEMANDSIM_KEEP_FREED_MEMORY"] = "0"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["None", "False"]
