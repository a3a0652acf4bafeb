"""experiments/fit.py, the ABC-SMC calibration, end to end on its smoke-test setting.

One generation of a few particles on small runs (`--quick`), then what a user of the fit relies
on: the posterior file it writes loads in culturesim with every particle inside its prior, the
report lists the generation, and `--resume` refuses a database it cannot honestly continue
(one made with other priors, or none at all) with one line and exit 2, leaving it untouched.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("pyabc")

from culturesim.batch.posterior import load_posterior  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIT = ROOT / "experiments" / "fit.py"
PRIORS = ROOT / "experiments" / "calibration" / "priors.toml"


def fit(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(FIT), "--quick", "--population", "8", "--workers", "1"]
    files = ["--db", tmp / "abc.db", "--out", tmp / "posterior.parquet", "--report", tmp / "fit.md"]
    return subprocess.run(
        [*command, *map(str, files), *extra], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


@pytest.fixture(scope="module")
def one_generation(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("fit")
    done = fit(tmp, "--generations", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    return tmp


def test_one_generation_writes_a_posterior_inside_the_priors(one_generation: Path) -> None:
    posterior = load_posterior(one_generation / "posterior.parquet")
    priors = {
        p["path"]: (p["low"], p["high"]) for p in tomllib.loads(PRIORS.read_text())["parameters"]
    }
    assert sorted(posterior.parameters) == sorted(priors)
    assert len(posterior.particles) == 8
    for path, (low, high) in priors.items():
        values = posterior.particles[path]
        assert values.between(low, high).all(), path
    assert posterior.provenance["priors"] == {path: list(b) for path, b in priors.items()}
    assert posterior.provenance["generations"] == 1
    report = (one_generation / "fit.md").read_text()
    assert "| 0 |" in report


def test_resume_refuses_a_fit_made_with_other_priors(one_generation: Path, tmp_path: Path) -> None:
    other = tmp_path / "priors.toml"
    other.write_text(PRIORS.read_text().replace("high = 4.5", "high = 4.0"))
    assert other.read_text() != PRIORS.read_text()
    database = (one_generation / "abc.db").read_bytes()
    done = fit(one_generation, "--resume", "--generations", "1", "--priors", str(other))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and "fitted with other priors" in lines[-1]
    assert "Traceback" not in done.stderr
    assert (one_generation / "abc.db").read_bytes() == database


def test_resume_without_a_database_is_one_line(tmp_path: Path) -> None:
    done = fit(tmp_path, "--resume", "--generations", "1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("no fit to resume or export")
    assert not (tmp_path / "abc.db").exists()
