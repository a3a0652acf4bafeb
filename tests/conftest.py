"""Shared fixtures: tiny scenario files, and runners for the `culturesim` command: in-process
(click's test runner, for what the command does) and as a real process (for what only a process
shows: its exit status from the shell, start-up warnings, signals)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

# A variant of the bundled baseline small enough to run in a fraction of a second.
TINY = """\
extends = "baseline.toml"
name = "{name}"

[run]
steps = {steps}
seed = {seed}
figures = {figures}
snapshot_every = {snapshot_every}

[organisation]
staff_per_trust = 200
"""

CLI_TIMEOUT = 180


def write_tiny(
    folder: Path,
    name: str = "tiny",
    *,
    steps: int = 20,
    seed: int = 1,
    figures: bool = False,
    snapshot_every: int = 0,
    extra: str = "",
) -> Path:
    """Write a small variant of baseline.toml (200 posts) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = TINY.format(
        name=name,
        steps=steps,
        seed=seed,
        figures=str(figures).lower(),
        snapshot_every=snapshot_every,
    )
    path.write_text(text + extra, encoding="utf-8")
    return path


def cli_command() -> list[str]:
    """The installed console script, or the module if the script is not on PATH."""
    script = shutil.which("culturesim")
    return [script] if script else [sys.executable, "-m", "culturesim"]


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `culturesim` command and capture its exit status and output."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [*cli_command(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT,
    )


def invoke(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `culturesim` in this process (click's test runner) with the real command's exit status
    and separate stdout and stderr; an exception the command lets escape is put on stderr as the
    traceback a user would see."""
    from culturesim.cli import main

    argv = list(map(str, args))
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(main, argv, env={"MPLBACKEND": "Agg"})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(*result.exc_info))
        stderr += f"Traceback (escaped the command):\n{trace}"
    return subprocess.CompletedProcess(
        ["culturesim", *argv], result.exit_code, result.stdout, stderr
    )


def run_cli_many(
    calls: Iterable[tuple[tuple, Path | None]], workers: int = 4
) -> list[subprocess.CompletedProcess]:
    """Several independent CLI calls at once (each is mostly interpreter start-up)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_cli, *args, cwd=cwd) for args, cwd in calls]
        return [future.result() for future in futures]


def assert_clean_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 2, no traceback, stderr exactly one `error: ...` line containing needles."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def assert_usage_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    """A bad option or argument: one `error:` line (ending with where help is), exit status 2."""
    assert_clean_error(result, *needles)


@pytest.fixture
def tiny_scenario_file(tmp_path: Path) -> Path:
    """tmp_path/tiny.toml: baseline with 200 posts, 20 weeks, no figures."""
    return write_tiny(tmp_path)
