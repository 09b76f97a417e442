"""hydra/launcher=ray against a Ray head started here on 127.0.0.1: the same results as joblib.

The head is started with ``ray start --head --block`` in its own session and stopped by
that process's id when the test ends (never ``ray stop``, which would stop every Ray on
the machine). It runs as on a fresh machine: its own token and HOME in a temporary folder,
so nothing is read from or written to the user's home (``~/.ray/auth_token`` is where Ray
otherwise looks for the token). Everything stays on the loopback address, and the test
checks it. Skipped only when Ray is not installed outside CI.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
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
from helpers import ERLANG_SWEEP, cli

RAY = Path(sys.executable).with_name("ray")
SWEEP = ERLANG_SWEEP
#: Ray (2.5x/2.6x) on one machine, loopback only: without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
#: Ray replaces 127.0.0.1 (in --node-ip-address and in the driver's address) by the machine's
#: network address; token authentication with the token read from RAY_AUTH_TOKEN_PATH (set per
#: head below); no usage report; no 30 s drain when the head stops
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
#: the user's ~/.ray, read before any HOME is changed: the test must leave it as it was
USER_RAY_DIR = Path.home() / ".ray"

if not RAY.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI is set but {RAY} is missing: ray comes with hydra-ray-launcher (pyproject.toml)")
    pytest.skip("ray is not installed (pip install -e .)", allow_module_level=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folder_state(folder: Path) -> dict | None:
    """Every file under ``folder`` with its size and modification time; None when it does not exist."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _proc_address(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """``0100007F:1F90`` (a /proc/net/tcp* address: little-endian words in hex) -> (127.0.0.1, 8080)."""
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    if ip.version == 6 and ip.ipv4_mapped:  # a dual-stack socket bound to ::ffff:127.0.0.1
        ip = ip.ipv4_mapped
    return ip, int(port, 16)


def session_sockets(session: int) -> list[tuple[int, str, str]]:
    """(pid, local, remote) of every TCP/UDP socket held by a process of Linux session ``session``.

    Read from /proc (Linux), so it needs no extra package: the head and everything it
    starts (GCS, raylet, dashboard agents, workers) stay in the session it was started in.
    """
    inodes: dict[str, int] = {}  # socket inode -> pid
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp session
            if int(fields[3]) != session:
                continue
            pid = int(stat.parent.name)
            for fd in (stat.parent / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes[link[8:-1]] = pid
        except (OSError, IndexError, ValueError):  # the process ended while being read
            continue
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                local, remote = _proc_address(cols[1]), _proc_address(cols[2])
                found.append((inodes[cols[9]], f"{local[0]}:{local[1]}", f"{remote[0]}:{remote[1]}"))
    return found


def off_loopback(sockets: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """The sockets bound to, or connected to, an address other than loopback (a listener's remote is 0.0.0.0:0)."""
    def loopback(address: str, unset_ok: bool) -> bool:
        ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
        return ip.is_loopback or (unset_ok and ip.is_unspecified and address.endswith(":0"))
    return [s for s in sockets if not (loopback(s[1], False) and loopback(s[2], True))]


@pytest.fixture(scope="module")
def ray_head():
    """A Ray head on 127.0.0.1 with its own token and HOME; yields its address, folder and driver settings."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray puts unix sockets under it
    home = temp / "home"  # an empty HOME, as on a fresh machine; Ray must not need anything in it
    home.mkdir()
    token = temp / "auth_token"
    # the token is any secret string: 256 random bits, as `ray get-auth-token --generate` makes
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    settings = {**RAY_ENV, "HOME": str(home), "RAY_AUTH_TOKEN_PATH": str(token)}
    env = {key: value for key, value in os.environ.items() if key not in ("RAY_AUTH_TOKEN", "RAY_ADDRESS")}
    log_path = temp / "head.log"
    log = open(log_path, "w")
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--log-color=false",
                             f"--temp-dir={temp}"], stdout=log, stderr=subprocess.STDOUT, env={**env, **settings},
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the Ray head did not start within 120 s"
            if "Ray runtime started" in log_path.read_text(errors="replace"):
                break
            time.sleep(0.5)
        yield {"address": f"127.0.0.1:{port}", "temp": temp, "home": home, "settings": settings,
               "session": head.pid, "log": log_path}
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
        subprocess.run(["rm", "-rf", str(temp)], check=False)


def test_ray_sweep_gives_the_same_results_as_joblib(ray_head, tmp_path, monkeypatch):
    """A sweep on the loopback Ray head, joined with its token: the same tables and run files as joblib's."""
    user_ray = folder_state(USER_RAY_DIR)
    for key, value in ray_head["settings"].items():  # the driver: the head's token, HOME and loopback settings
        monkeypatch.setenv(key, value)
    for key in ("RAY_AUTH_TOKEN", "RAY_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    on_ray = tmp_path / "ray"
    done = cli("-m", "hydra/launcher=ray", f"hydra.launcher.ray.init.address={ray_head['address']}",
               "hydra.launcher.ray.init._node_ip_address=127.0.0.1", *SWEEP, f"hydra.sweep.dir={on_ray}",
               "hydra/hydra_logging=default")  # Hydra's launcher lines (quiet by default) say Ray ran it
    output = done.stdout + done.stderr
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Ray Launcher is launching 4 jobs" in output

    # loopback only: the head's node, the GCS the driver joined, and every socket of the head's processes
    assert re.search(r"Local node IP: 127\.0\.0\.1$", ray_head["log"].read_text(), re.M), ray_head["log"].read_text()
    joined = re.findall(r"Connecting to existing Ray cluster at address: (\S+?)\.*$", output, re.M)
    assert joined == [ray_head["address"]], output[-3000:]
    sockets = session_sockets(ray_head["session"])
    assert any(local == ray_head["address"] for _, local, _ in sockets), sockets  # the GCS is seen
    assert off_loopback(sockets) == [], sockets

    # the token came from RAY_AUTH_TOKEN_PATH, not a home folder
    assert not (ray_head["home"] / ".ray" / "auth_token").exists()
    assert folder_state(USER_RAY_DIR) == user_ray, f"{USER_RAY_DIR} changed"

    # the same sweep with the default launcher, its lines shown (quiet by default) to say joblib ran it
    on_joblib = tmp_path / "joblib"
    done = cli("-m", *SWEEP, f"hydra.sweep.dir={on_joblib}", "hydra/hydra_logging=default")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in done.stdout + done.stderr
    a = pd.read_parquet(on_ray / sweep.SWEEP_TABLE)
    b = pd.read_parquet(on_joblib / sweep.SWEEP_TABLE)
    assert len(a) == 4
    pd.testing.assert_frame_equal(a, b)
    for folder in (on_ray / sweep.RUNS_DIR).iterdir():  # byte-identical run files too
        for name in ("calls.parquet", "incidents.parquet", "intervals.parquet"):
            assert (folder / name).read_bytes() == (on_joblib / sweep.RUNS_DIR / folder.name / name).read_bytes()


def test_sockets_off_loopback_are_found():
    """The loopback check can fail: a listener on every interface, or a peer elsewhere, is reported."""
    sockets = [(1, "127.0.0.1:6379", "0.0.0.0:0"), (2, "0.0.0.0:6379", "0.0.0.0:0"),
               (3, "127.0.0.1:5000", "192.0.2.7:6379"), (4, "::1:5000", "::1:6379")]
    assert [pid for pid, _, _ in off_loopback(sockets)] == [2, 3]
    assert _proc_address("0100007F:18EB") == (ipaddress.ip_address("127.0.0.1"), 6379)
    assert _proc_address("0000000000000000FFFF00000100007F:18EB") == (ipaddress.ip_address("127.0.0.1"), 6379)


def test_optimiser_on_ray_finds_the_same_roster(ray_head, tmp_path):
    """optimise.ray_address: each round's replications as Ray tasks on the loopback head (joined with
    its token, as a sweep's driver does): the same roster as in one process."""
    import json

    args = ["scenario=validation/erlang_a", "validation.arrivals_per_min=0.5", "validation.mean_handle_min=4",
            "validation.mean_patience_min=2", "optimise.goal.sl_999_10s=0.8", "run.days=8", "run.warmup_days=1",
            "run.replications=2", "optimise.max_iterations=30"]
    env = {key: value for key, value in os.environ.items() if key not in ("RAY_AUTH_TOKEN", "RAY_ADDRESS")}
    found = {}
    for where, extra, settings in (("here", [], {}), ("ray", [f"optimise.ray_address={ray_head['address']}"],
                                                        ray_head["settings"])):
        done = subprocess.run([sys.executable, "-m", "demandsim.optimise", *args, *extra,
                               f"hydra.run.dir={tmp_path / where}"], capture_output=True, text=True,
                              env={**env, **settings}, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        joined = re.findall(r"Connecting to existing Ray cluster at address: (\S+?)\.*$", done.stderr + done.stdout,
                            re.M)
        assert joined == ([ray_head["address"]] if where == "ray" else []), done.stderr[-3000:]
        found[where] = json.loads((tmp_path / where / "optimise.json").read_text())
    assert found["ray"]["staff_per_hour_of_week"] == found["here"]["staff_per_hour_of_week"]
    assert found["ray"]["achieved"] == found["here"]["achieved"]
    assert off_loopback(session_sockets(ray_head["session"])) == []
