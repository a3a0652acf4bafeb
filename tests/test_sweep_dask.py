"""The same sweep on a real Dask cluster (a scheduler and two workers on loopback, started here)
gives exactly the table the local process pool gives: same seeds, same figures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from culturesim.batch.sweep import load_results, sweep

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # a real scheduler and two workers, each running whole sweeps
EXPERIMENT = """
base = "baseline"
seed = 99
replicates = 2

[scenario]
organisation.staff_per_trust = 200
run.steps = 30

[[parameters]]
path = "drivers.funding.value"
range = [0.6, 1.4]
levels = 3

[[parameters]]
path = "behaviour.norm_weight"
values = [3.0, 9.0]

[design]
kind = "grid"

[outputs]
timeseries = ["bullied_by_staff", "reproduction_number"]
every = 5
"""


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    }
    return subprocess.Popen(
        args,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=log.parent,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1; yields the address."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    scheduler_file = tmp_path / "scheduler.json"
    processes = [
        _start(
            [
                "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            tmp_path / "scheduler.log",
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("worker-1", "worker-2"):
            processes.append(
                _start(
                    [
                        "dask",
                        "worker",
                        address,
                        "--name",
                        name,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    tmp_path / f"{name}.log",
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, tmp_path
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_dask_cluster_gives_exactly_the_local_pools_table(tmp_path, cluster):
    """Three runs per Dask task, one per local one: where and how runs go changes nothing."""
    address, logs = cluster
    path = tmp_path / "experiment.toml"
    path.write_text(EXPERIMENT)

    on_dask = sweep(path, tmp_path / "dask", scheduler=address, progress=False, runs_per_task=3)
    local = sweep(path, tmp_path / "local", workers=2, progress=False)

    assert "Dask cluster" in on_dask.where and on_dask.ran == 12 and on_dask.failed == 0
    assert local.ran == 12 and local.failed == 0
    dask_runs = load_results(tmp_path / "dask").drop(columns="wall_time_s")
    local_runs = load_results(tmp_path / "local").drop(columns="wall_time_s")
    pd.testing.assert_frame_equal(dask_runs, local_runs)
    assert dask_runs["seed"].nunique() == 12
    assert dask_runs["bullied_by_staff"].nunique() > 1  # real, differing figures
    pd.testing.assert_frame_equal(
        load_results(tmp_path / "dask", "timeseries"),
        load_results(tmp_path / "local", "timeseries"),
    )

    # Both workers had joined the cluster the sweep ran on.
    texts = [(logs / f"worker-{i}.log").read_text() for i in (1, 2)]
    assert all("Registered to" in text for text in texts)


def test_the_cli_sends_a_sweep_to_the_cluster(tmp_path, cluster):
    address, _ = cluster
    path = tmp_path / "experiment.toml"
    path.write_text(EXPERIMENT)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "culturesim",
            "sweep",
            str(path),
            "--scheduler",
            address,
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "12/12 runs finished: 12 ok, 0 failed" in done.stdout and "Dask cluster" in done.stdout
    assert len(load_results(tmp_path / "out")) == 12
