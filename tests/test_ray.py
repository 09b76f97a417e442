"""hydra/launcher=ray against a Ray head started here on 127.0.0.1: the same results as joblib.

The head is started with ``ray start --head --block`` in its own process group and
stopped by that process's id when the test ends (never ``ray stop``, which would stop
every Ray on the machine). Everything stays on the loopback address. Skipped only when
Ray is not installed outside CI.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from demandsim import sweep
from helpers import ERLANG_SWEEP, cli, erlang_sweep

RAY = Path(sys.executable).with_name("ray")
SWEEP = ERLANG_SWEEP
#: Ray on loopback only, token authentication (Ray 2.5x: a driver joining a cluster must be told;
#: ray start made the token in ~/.ray), no usage report, no 30 s drain when the head stops
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}

if not RAY.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI is set but {RAY} is missing: ray comes with hydra-ray-launcher (pyproject.toml)")
    pytest.skip("ray is not installed (pip install -e .)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray puts unix sockets under it
    log = open(Path(temp) / "head.log", "w")
    env = {**os.environ, **RAY_ENV}
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={temp}"], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, (Path(temp) / "head.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the Ray head did not start within 120 s"
            if "Ray runtime started" in (Path(temp) / "head.log").read_text(errors="replace"):
                break
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # ray start --block stops what it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # anything of its group still there
        except ProcessLookupError:
            pass
        log.close()
        subprocess.run(["rm", "-rf", temp], check=False)


def test_ray_sweep_gives_the_same_results_as_joblib(ray_head, tmp_path, monkeypatch):
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)
    on_ray = tmp_path / "ray"
    done = cli("-m", "hydra/launcher=ray", f"hydra.launcher.ray.init.address={ray_head}",
               "hydra.launcher.ray.init._node_ip_address=127.0.0.1", *SWEEP, f"hydra.sweep.dir={on_ray}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Ray Launcher is launching 4 jobs" in done.stdout + done.stderr
    on_joblib, done = erlang_sweep()  # the same sweep with the default launcher
    assert "Joblib.Parallel(n_jobs=2" in done.stdout + done.stderr
    a = pd.read_parquet(on_ray / sweep.SWEEP_TABLE)
    b = pd.read_parquet(on_joblib / sweep.SWEEP_TABLE)
    assert len(a) == 4
    pd.testing.assert_frame_equal(a, b)
    for folder in (on_ray / sweep.RUNS_DIR).iterdir():  # byte-identical run files too
        for name in ("calls.parquet", "incidents.parquet", "intervals.parquet"):
            assert (folder / name).read_bytes() == (on_joblib / sweep.RUNS_DIR / folder.name / name).read_bytes()
