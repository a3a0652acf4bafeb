"""culturesim in a notebook: the user's matplotlib backend stays theirs, and a run displays as
its headline figures rather than its tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_tiny

# A fresh interpreter, as a notebook kernel is: the backend is chosen before culturesim is
# imported, then a run, its folder, its figures and a cascade report are made.
KERNEL = """
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
chosen = matplotlib.get_backend()

import culturesim
from culturesim import load_scenario, simulate
from culturesim.run.simulate import run_to_folder
from culturesim.run.outputs import cascade_report
import culturesim.batch.analysis

result = simulate(load_scenario({scenario!r}), seed=2)
folder, _ = run_to_folder(load_scenario({scenario!r}), {out!r})
cascade_report(folder)
assert (folder / "figures" / "dashboard.png").stat().st_size > 10_000
assert matplotlib.get_backend() == chosen, (chosen, matplotlib.get_backend())
print(repr(result))
print(result._repr_html_())
"""


@pytest.mark.slow
def test_a_run_and_its_figures_leave_the_notebook_backend_alone(tmp_path: Path) -> None:
    scenario = write_tiny(tmp_path, steps=12, figures=True)
    code = KERNEL.format(scenario=str(scenario), out=str(tmp_path / "run"))
    kernel = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert kernel.returncode == 0, kernel.stderr[-3000:]
    short, table = kernel.stdout.splitlines()[:2]
    assert short.startswith("<RunResult 'tiny', seed 2: 12 weeks,") and len(short) < 200
    assert table.startswith("<table>") and "bullied in last 12 months, by managers" in table
    assert len(table) < 3000
