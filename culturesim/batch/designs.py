"""Experiment designs: the table of points a sweep runs, drawn from the experiment's seed.

Designs all start from the unit hypercube (one column per varied parameter, values in [0, 1])
and map it onto each parameter's range, levels or categories:

- ``grid``: full factorial over each parameter's ``values`` or ``levels`` points of ``range``;
- ``lhs``: Latin hypercube (`scipy.stats.qmc.LatinHypercube`), ``samples`` points;
- ``sobol``: Saltelli's scheme for Sobol indices (`SALib.sample.sobol`), ``samples`` = N, a
  power of 2, giving N (D + 2) points, or N (2D + 2) with ``second_order = true``;
- ``morris``: elementary-effect trajectories (`SALib.sample.morris`), ``trajectories`` of D + 1
  points each on a ``levels``-level grid.

The design's random draws come from child 0 of `SeedSequence(seed)` (see
`culturesim.batch.experiment` for the runs' seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from culturesim.batch.experiment import Experiment
    from culturesim.batch.experiment_schema import ExperimentSpec


@dataclass(frozen=True)
class ParameterMap:
    """How a unit value in [0, 1] becomes a value of one varied parameter."""

    path: str
    kind: Literal["float", "int", "bool", "str"]
    range: tuple[float, float] | None
    values: tuple | None
    scale: str

    def from_unit(self, unit: np.ndarray) -> list:
        """Sampler designs: a range is spanned (then rounded for whole numbers); values picked."""
        if self.values is not None:
            index = np.minimum((unit * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in index]
        low, high = self.range
        if self.scale == "log":
            raw = np.exp(np.log(low) + unit * (np.log(high) - np.log(low)))
        else:
            raw = low + unit * (high - low)
        return self.cast(raw)

    def grid_levels(self, levels: int | None) -> list:
        if self.values is not None:
            return list(self.values)
        low, high = self.range
        if self.scale == "log":
            return self.cast(np.geomspace(low, high, levels))
        return self.cast(np.linspace(low, high, levels))

    def cast(self, raw: np.ndarray) -> list:
        if self.kind == "int":
            return [int(v) for v in np.rint(raw)]
        return [float(v) for v in raw]


def _design_rng(experiment: Experiment) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(experiment.spec.seed, spawn_key=(0,)))


def _salib_seed(experiment: Experiment) -> int:
    return int(_design_rng(experiment).integers(0, 2**31 - 1))


def unit_sample(experiment: Experiment) -> np.ndarray:
    """The sampler's points in the unit hypercube, one column per varied parameter."""
    spec = experiment.spec
    dims = len(spec.parameters)
    kind = spec.design.kind
    problem = salib_problem(experiment.paths)
    if kind == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=dims, rng=_design_rng(experiment)).random(spec.design.samples)
    if kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(
            problem,
            spec.design.samples,
            calc_second_order=spec.design.second_order,
            seed=_salib_seed(experiment),
        )
    if kind == "morris":
        from SALib.sample import morris

        return morris.sample(
            problem,
            spec.design.trajectories,
            num_levels=spec.design.levels,
            seed=_salib_seed(experiment),
        )
    raise ValueError(f"{kind} designs are not sampled")


def count_points(spec: ExperimentSpec) -> int:
    """Design points, by arithmetic: grid, the product of the levels; lhs, the samples; sobol
    (Saltelli), N (D + 2), or N (2D + 2) with second-order indices; morris, T (D + 1)."""
    dims = len(spec.parameters)
    design = spec.design
    if design.kind == "grid":
        return math.prod(
            len(p.values) if p.values is not None else (p.levels or 0) for p in spec.parameters
        )
    if design.kind == "lhs":
        return design.samples or 0
    if design.kind == "sobol":
        return (design.samples or 0) * ((2 * dims if design.second_order else dims) + 2)
    return (design.trajectories or 0) * (dims + 1)


def make_design(experiment: Experiment) -> pd.DataFrame:
    """The design table: one row per point, in run order."""
    spec = experiment.spec
    if spec.design.kind == "grid":
        levels = [
            np.asarray(m.grid_levels(p.levels))
            for m, p in zip(experiment.maps, spec.parameters, strict=True)
        ]
        # Full factorial, last parameter fastest, built as index arrays (no row tuples).
        index = np.indices([len(level) for level in levels]).reshape(len(levels), -1)
        columns = {m.path: levels[i][index[i]] for i, m in enumerate(experiment.maps)}
        table = pd.DataFrame(columns)
    else:
        unit = unit_sample(experiment)
        columns = {m.path: m.from_unit(unit[:, i]) for i, m in enumerate(experiment.maps)}
        columns |= {f"u.{m.path}": unit[:, i] for i, m in enumerate(experiment.maps)}
        table = pd.DataFrame(columns)
    table.insert(0, "point", np.arange(len(table), dtype=np.int64))
    return table


def salib_problem(paths: list[str]) -> dict:
    """The SALib problem the unit samples were drawn for (for the analysers)."""
    return {"num_vars": len(paths), "names": list(paths), "bounds": [[0.0, 1.0]] * len(paths)}
