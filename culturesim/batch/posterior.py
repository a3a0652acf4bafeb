"""The calibration posterior: parameter sets accepted by ABC-SMC, shipped with the package.

`data/posterior.parquet` holds one row per accepted particle (a column per fitted parameter,
by its scenario path, and its `weight`); its Parquet metadata holds the provenance of the fit
(method, generations, epsilon schedule, runs, date, commit). It is written by
`experiments/fit.py` and read here with pyarrow alone (pyabc is needed only to fit).

Drawing: `draw(n, seed)` picks n particles by weight, with replacement, from
`numpy.random.default_rng(seed)`; draw i is run with seed `seed + i`, so a draw's parameters
and its run are both fixed by the seed. Applying a draw to a scenario changes only the
parameters that the scenario leaves at their defaults: a scenario that sets a fitted
parameter to a value of its own (a lever it studies) keeps it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from culturesim.engine.scenario import Scenario, iter_parameters
from culturesim.errors import UserError

POSTERIOR_FILE = files("culturesim") / "data" / "posterior.parquet"
METADATA_KEY = b"culturesim.posterior"
MAX_DRAWS = 100_000
POSTERIOR_INTERVAL = (
    "posterior predictive: each replicate a parameter set drawn from the calibration posterior "
    "with its own seed, so intervals include parameter uncertainty as well as seed noise"
)


class PosteriorError(UserError):
    """A posterior file that cannot be used, or a bad number of draws."""


@dataclass(frozen=True)
class Draw:
    """One parameter set drawn from the posterior, and the seed its run uses."""

    index: int
    particle: int
    seed: int
    values: dict[str, float]

    def record(self) -> dict[str, Any]:
        return {"draw": self.index, "particle": self.particle, "seed": self.seed} | self.values


@dataclass(frozen=True)
class Posterior:
    """The accepted particles (one row each: parameters and weight) and the fit's provenance."""

    particles: pd.DataFrame
    provenance: dict[str, Any]
    path: str
    sha256: str

    @property
    def parameters(self) -> list[str]:
        return [c for c in self.particles.columns if c != "weight"]

    def draw(self, n: int, seed: int) -> list[Draw]:
        """n parameter sets by weight (with replacement); draw i runs with seed `seed + i`."""
        check_draws(n)
        weights = self.particles["weight"].to_numpy(float)
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(weights), size=n, replace=True, p=weights / weights.sum())
        rows = self.particles[self.parameters].to_numpy(float)
        return [
            Draw(i, int(p), seed + i, dict(zip(self.parameters, map(float, rows[p]), strict=True)))
            for i, p in enumerate(chosen)
        ]

    def summary(self) -> dict[str, Any]:
        """What a run's provenance records about the posterior it drew from."""
        return {
            "file": self.path,
            "sha256": self.sha256,
            "particles": len(self.particles),
            "parameters": self.parameters,
            "fit": self.provenance,
        }


def check_draws(n: int) -> int:
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or not 1 <= n <= MAX_DRAWS:
        raise PosteriorError(
            f"--posterior {n}: the number of posterior draws must be from 1 to {MAX_DRAWS:,}"
        )
    return int(n)


def load_posterior(path: str | Path | None = None) -> Posterior:
    """Read a posterior file (the shipped one by default), with one-line errors if unusable."""
    where = str(path) if path is not None else "the shipped posterior (culturesim/data)"
    source = Path(path) if path is not None else POSTERIOR_FILE
    try:
        blob = source.read_bytes()
    except FileNotFoundError:
        raise PosteriorError(
            f"{where}: no posterior file; fit one with `python experiments/fit.py`"
        ) from None
    except OSError as error:
        raise PosteriorError(f"{where}: cannot read it ({error.strerror or error})") from None
    try:
        table = pq.read_table(pa.BufferReader(blob))
    except (pa.ArrowException, OSError, ValueError) as error:
        raise PosteriorError(
            f"{where}: not a readable Parquet posterior ({' '.join(str(error).split())})"
        ) from None
    particles = table.to_pandas()
    metadata = table.schema.metadata or {}
    try:
        provenance = json.loads(metadata[METADATA_KEY]) if METADATA_KEY in metadata else {}
    except ValueError:
        raise PosteriorError(f"{where}: its provenance metadata is not valid JSON") from None
    _check_particles(particles, where)
    return Posterior(particles, provenance, where, hashlib.sha256(blob).hexdigest())


def _check_particles(particles: pd.DataFrame, where: str) -> None:
    if "weight" not in particles or len(particles) == 0:
        raise PosteriorError(f"{where}: needs a 'weight' column and at least one particle")
    known = {path for path, _ in iter_parameters()}
    parameters = [c for c in particles.columns if c != "weight"]
    if not parameters:
        raise PosteriorError(f"{where}: no parameter columns (scenario paths) besides 'weight'")
    unknown = [c for c in parameters if c not in known]
    if unknown:
        raise PosteriorError(f"{where}: {unknown[0]!r} is not a scenario parameter path")
    numbers = particles.to_numpy()
    if not np.issubdtype(numbers.dtype, np.number) or not np.isfinite(numbers).all():
        raise PosteriorError(f"{where}: every value must be a finite number")
    if (particles["weight"] < 0).any() or particles["weight"].sum() <= 0:
        raise PosteriorError(f"{where}: weights must be non-negative with a positive sum")


def write_posterior(particles: pd.DataFrame, provenance: dict[str, Any], path: str | Path) -> Path:
    """Write particles and provenance as the Parquet file `load_posterior` reads."""
    _check_particles(particles, str(path))
    table = pa.Table.from_pandas(particles.reset_index(drop=True), preserve_index=False)
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(provenance).encode()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    pq.write_table(table.replace_schema_metadata(metadata), temporary)
    temporary.replace(path)
    return path


def _value_at(scenario: Scenario, path: str) -> Any:
    value: Any = scenario
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else getattr(value, part)
    return value


def apply_draw(scenario: Scenario, draw: Draw) -> tuple[Scenario, dict[str, float]]:
    """The scenario with the draw's parameters where it keeps the defaults; and what was set.

    A parameter the scenario sets to a value of its own is kept (it is what the scenario
    studies); all others take the draw's value.
    """
    defaults = Scenario()
    applied = {
        path: value
        for path, value in draw.values.items()
        if _value_at(scenario, path) == _value_at(defaults, path)
    }
    if not applied:
        return scenario, applied
    return scenario.with_overrides(applied, f"posterior draw {draw.index}"), applied
