"""Experiment files: a base scenario, the parameters to vary, a design, replicates and outputs.

An experiment is read and checked in full before anything runs, with the same one-line errors
as scenario files: every varied path is tried on the base scenario at both ends of its range, so
an unknown path or an out-of-bounds value is reported with the file and the field that holds it.

Designs all start from the unit hypercube (one column per varied parameter, values in [0, 1])
and map it onto each parameter's range, levels or categories:

- ``grid``: full factorial over each parameter's ``values`` or ``levels`` points of ``range``;
- ``lhs``: Latin hypercube (`scipy.stats.qmc.LatinHypercube`), ``samples`` points;
- ``sobol``: Saltelli's scheme for Sobol indices (`SALib.sample.sobol`), ``samples`` = N, a
  power of 2, giving N (D + 2) points, or N (2D + 2) with ``second_order = true``;
- ``morris``: elementary-effect trajectories (`SALib.sample.morris`), ``trajectories`` of D + 1
  points each on a ``levels``-level grid.

Seeds: every random choice of a sweep comes from the experiment's ``seed`` through
`numpy.random.SeedSequence`: child 0 draws the design, child 1 is split into one child per run
(``SeedSequence(seed).spawn(2)[1].spawn(n_runs)[run_id]``, computed directly from the spawn key).
With ``common_random_numbers = true`` the runs' seeds depend on the replicate only, so every
design point sees the same random draws and their differences are the parameters, not noise.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from culturesim.bundled import bundled_folder
from culturesim.engine.measures import SERIES_MEASURES, SUMMARY_MEASURES, did_you_mean
from culturesim.engine.scenario import (
    NAME_PATTERN,
    Scenario,
    deep_merge,
    name_from_file,
    read_scenario_table,
    read_toml,
    record_origins,
    resolve_scenario_path,
    set_dotted,
    validate_scenario,
)
from culturesim.errors import ExperimentError, ScenarioError
from culturesim.schema import Section, describe_error

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris")
EXPERIMENT_DIR = bundled_folder("experiments")
MAX_RUNS = 10_000_000


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 run', '2 runs'; `words` for an irregular plural ('1 process', '3 processes')."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def is_experiment_table(raw: dict) -> bool:
    """Whether a TOML table is an experiment (it has a `base` or a `[design]`), not a scenario."""
    return "base" in raw or "design" in raw


# --- the schema ------------------------------------------------------------------------------


Level = float | int | bool | str


class Parameter(Section):
    """One varied parameter: its dotted path in the scenario and the values it may take."""

    path: str = Field(description="Dotted path in the scenario, e.g. drivers.funding.value.")
    range: list[float] | None = Field(
        None, description="[low, high] for a numeric parameter (grid: with `levels`)."
    )
    levels: int | None = Field(
        None, ge=2, le=10_000, description="Grid only: evenly spaced points over `range`."
    )
    values: list[Level] | None = Field(
        None,
        min_length=1,
        description="Explicit values: grid levels, or the categories a sampler picks among.",
    )
    scale: Literal["linear", "log"] = Field(
        "linear", description="Spacing over `range`: linear, or log for rates spanning decades."
    )

    @field_validator("range")
    @classmethod
    def _nonempty(cls, bounds: list[float] | None) -> list[float] | None:
        if bounds is None:
            return bounds
        if len(bounds) != 2:
            raise ValueError("must be [low, high]")
        low, high = bounds
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError("empty range; must be [low, high] with low < high")
        return bounds

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list | None) -> list | None:
        if values is not None and len(set(map(repr, values))) != len(values):
            raise ValueError("values repeat")
        return values

    @model_validator(mode="after")
    def _one_way(self) -> Parameter:
        if self.range is not None and self.values is not None:
            raise ValueError("give either range = [low, high] or values = [...], not both")
        if self.range is None and self.values is None:
            raise ValueError("give a range = [low, high] or a list of values = [...]")
        if self.scale == "log" and self.range is not None and self.range[0] <= 0:
            raise ValueError(f"range = {self.range}: a log scale needs low > 0")
        if self.levels is not None and self.range is None:
            raise ValueError("levels needs a range = [low, high]")
        return self


class Design(Section):
    kind: str = Field(description="grid, lhs, sobol or morris.")
    samples: int | None = Field(
        None, ge=1, le=MAX_RUNS, description="lhs: points; sobol: base sample N (a power of 2)."
    )
    second_order: bool = Field(False, description="sobol: also estimate second-order indices.")
    trajectories: int | None = Field(None, ge=2, le=100_000, description="morris: trajectories.")
    levels: int = Field(4, ge=2, le=100, description="morris: levels of the grid (even).")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in DESIGN_KINDS:
            raise ValueError(f"must be one of {', '.join(DESIGN_KINDS)}")
        return kind

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, samples: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("kind") == "sobol" and samples is not None and samples & (samples - 1):
            raise ValueError("a sobol design needs a power of 2 (e.g. 64, 128, 256)")
        return samples

    @field_validator("levels")
    @classmethod
    def _even(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError("a morris design needs an even number of levels")
        return levels

    @model_validator(mode="after")
    def _fits_kind(self) -> Design:
        needs = {"lhs": "samples", "sobol": "samples", "morris": "trajectories"}.get(self.kind)
        if needs and getattr(self, needs) is None:
            raise ValueError(f"a {self.kind} design needs {needs} = N")
        unused = {
            "grid": ("samples", "trajectories"),
            "lhs": ("trajectories",),
            "sobol": ("trajectories",),
            "morris": ("samples",),
        }[self.kind]
        for name in unused:
            if getattr(self, name) is not None:
                raise ValueError(f"{name} is not used by a {self.kind} design")
        return self


class Outputs(Section):
    summary: list[str] | None = Field(
        None, description="Summary measures kept for every run (default: all of them)."
    )
    timeseries: list[str] = Field(
        default_factory=list, description="Measures kept as time series (default: none)."
    )
    every: int = Field(
        4, ge=1, le=5200, description="Weeks between the time-series rows kept (week 0, K, 2K...)."
    )


class Executor(Section):
    """Where the runs happen. Not part of the experiment's hash: it never changes a result."""

    workers: int | None = Field(None, ge=1, le=100_000, description="Local processes (cores).")
    scheduler: str | None = Field(None, description="A Dask scheduler, e.g. tcp://host:8786.")
    in_flight: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Runs submitted at once (default: two tasks per worker).",
    )
    runs_per_task: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Runs sent to a worker as one task (default: 1 on local processes; on Dask "
        "up to 16, keeping at least 4 tasks per worker).",
    )
    shard_runs: int = Field(500, ge=1, le=1_000_000, description="Runs per Parquet shard.")
    shard_seconds: float = Field(
        300.0, gt=0, description="Commit a shard at least this often (seconds)."
    )


class ExperimentSpec(Section):
    """An experiment file as written."""

    name: str = Field(
        "unnamed", description="Short name used for the results folder.", pattern=NAME_PATTERN
    )
    question: str = Field("", description="The question the experiment asks (one line).")
    base: str = Field(description="Base scenario: a path (relative to this file) or a name.")
    scenario: dict[str, Any] = Field(
        default_factory=dict, description="Fixed changes to the base, as a partial scenario."
    )
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Seed of the design and of every run.")
    replicates: int = Field(1, ge=1, le=100_000, description="Runs per design point.")
    common_random_numbers: bool = Field(
        False, description="Same seeds at every design point (replicate r always gets seed r)."
    )
    posterior_draws: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Draw this many parameter sets from the calibration posterior; replicate r "
        "of every point runs with draw r mod N (replicates must be a multiple of N).",
    )
    parameters: list[Parameter] = Field(min_length=1, description="The varied parameters.")
    design: Design
    outputs: Outputs = Field(default_factory=Outputs)
    executor: Executor = Field(default_factory=Executor)

    @model_validator(mode="after")
    def _distinct_paths(self) -> ExperimentSpec:
        paths = [p.path for p in self.parameters]
        for index, path in enumerate(paths):
            if path in paths[:index]:
                raise ValueError(f"parameters.{index}.path = {path!r}: varied twice")
        for index, parameter in enumerate(self.parameters):
            if self.design.kind == "grid" and parameter.range is not None and not parameter.levels:
                raise ValueError(
                    f"parameters.{index}: a grid needs levels = N with a range (or give values)"
                )
            if self.design.kind != "grid" and parameter.levels is not None:
                raise ValueError(
                    f"parameters.{index}.levels: only a grid design uses levels "
                    f"(this is a {self.design.kind} design)"
                )
        draws = self.posterior_draws
        if draws is not None and self.replicates % draws:
            raise ValueError(
                f"replicates = {self.replicates}: must be a multiple of posterior_draws = {draws} "
                "(replicate r runs with draw r mod posterior_draws)"
            )
        if self.design.kind == "morris" and len(self.parameters) < 2:
            raise ValueError("parameters: a morris design needs at least 2 varied parameters")
        return self


# --- the loaded experiment -------------------------------------------------------------------


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


@dataclass
class Experiment:
    """A validated experiment: its spec, its base scenario (with fixed changes) and its design."""

    spec: ExperimentSpec
    base: Scenario
    origin: str
    text: str = ""
    maps: list[ParameterMap] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.spec.parameters]

    @cached_property
    def design(self) -> pd.DataFrame:
        """One row per design point: `point`, each varied path's value, and (samplers) `u.PATH`."""
        return make_design(self)

    @property
    def n_points(self) -> int:
        """Counted from the spec, never by building the design (which may be too big to build)."""
        return count_points(self.spec)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.spec.replicates

    def run_seed(self, run_id: int) -> int:
        """The seed of one run: a child of the experiment's SeedSequence (see module docstring)."""
        key = run_id % self.spec.replicates if self.spec.common_random_numbers else run_id
        sequence = np.random.SeedSequence(self.spec.seed, spawn_key=(1, key))
        return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))

    def locate(self, run_id: int) -> tuple[int, int]:
        """(design point, replicate) of a run; runs are numbered point by point."""
        return divmod(run_id, self.spec.replicates)

    @cached_property
    def posterior_draws(self) -> list:
        """The posterior draws replicates cycle through (none without `posterior_draws`)."""
        if self.spec.posterior_draws is None:
            return []
        from culturesim.batch.posterior import load_posterior

        sequence = np.random.SeedSequence(self.spec.seed, spawn_key=(2,))
        seed = int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))
        return load_posterior().draw(self.spec.posterior_draws, seed)

    @cached_property
    def hash(self) -> str:
        """What results depend on: the experiment (not its name or executor), its base and,
        with posterior draws, the posterior file."""
        content = {
            "experiment": self.spec.model_dump(
                mode="json", exclude={"executor", "name", "question"}
            ),
            "base_scenario": self.base.model_dump(mode="json"),
        }
        if self.spec.posterior_draws is not None:
            from culturesim.batch.posterior import load_posterior

            content["posterior_sha256"] = load_posterior().sha256
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> str:
        """One line: what the experiment runs."""
        kind = self.spec.design.kind
        return (
            f"experiment '{self.name}': {kind} design over {plural(len(self.paths), 'parameter')}, "
            f"{plural(self.n_points, 'point')} x {plural(self.spec.replicates, 'replicate')} = "
            f"{plural(self.n_runs, 'run')}"
        )


def _value_at(raw: Any, path: str) -> Any:
    for part in path.split("."):
        raw = raw[int(part)] if isinstance(raw, list) else raw[part]
    return raw


def _parameter_map(index: int, parameter: Parameter, base: Scenario, origin: str) -> ParameterMap:
    """Check a varied parameter against the base scenario and work out how to set it."""
    where = f"{origin}: parameters.{index}"
    # Unknown paths are refused here, with a 'did you mean' hint, by the scenario's own setter.
    try:
        set_dotted(base.model_dump(mode="python"), parameter.path, None, f"{where}.path")
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None
    current = _value_at(base.model_dump(mode="python"), parameter.path)
    if isinstance(current, bool):
        kind = "bool"
    elif isinstance(current, int):
        kind = "int"
    elif isinstance(current, float):
        kind = "float"
    elif isinstance(current, str):
        kind = "str"
    else:
        raise ExperimentError(
            f"{where}.path = {parameter.path!r}: not a single number, true/false or name; "
            f"vary one item (e.g. '{parameter.path}.0') or a numeric field"
        )
    if parameter.range is not None:
        if kind in ("bool", "str"):
            raise ExperimentError(
                f"{where}.range: {parameter.path} is "
                f"{'true/false' if kind == 'bool' else 'a name'}; give values = [...] instead"
            )
        low, high = parameter.range
        if kind == "int" and (low != int(low) or high != int(high)):
            raise ExperimentError(
                f"{where}.range = {parameter.range}: {parameter.path} is a whole number; "
                f"give whole-number ends"
            )
        for end in (low, high):
            _try(base, parameter.path, int(end) if kind == "int" else float(end), f"{where}.range")
        values = None
    else:
        # Stored as validated, in the field's type ("0.25" -> 0.25, 1 -> true), so the design
        # table has one type per column and every run gets the value the check accepted.
        values = tuple(
            _try(base, parameter.path, value, f"{where}.values.{position}")
            for position, value in enumerate(parameter.values)
        )
        for position, value in enumerate(values):
            if value in values[:position]:
                raise ExperimentError(
                    f"{where}.values.{position} = {parameter.values[position]!r}: "
                    f"the same {kind} value as an earlier one ({value!r})"
                )
    mapping = ParameterMap(
        parameter.path,
        kind,
        tuple(parameter.range) if parameter.range else None,
        values,
        parameter.scale,
    )
    if parameter.levels is not None:
        levels = mapping.grid_levels(parameter.levels)
        if len(set(levels)) != len(levels):
            raise ExperimentError(
                f"{where}.levels = {parameter.levels}: {parameter.path} is a whole number and "
                f"{parameter.range} holds fewer than {parameter.levels}; use fewer levels"
            )
    return mapping


def _try(base: Scenario, path: str, value: Any, origin: str) -> Any:
    """Set one value on the base scenario and return it as validated (in the field's type),
    raising the scenario's own error if it is refused."""
    try:
        changed = base.with_overrides({path: value}, origin)
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None
    return _value_at(changed.model_dump(mode="python"), path)


def _check_outputs(outputs: Outputs, origin: str) -> None:
    """Every name in `outputs.summary` and `outputs.timeseries` must be one the model writes:
    a typo is reported here, with a 'did you mean', not by every run of the sweep."""
    lists = (
        ("summary", outputs.summary or [], SUMMARY_MEASURES, "summary measure"),
        ("timeseries", outputs.timeseries, SERIES_MEASURES, "time series"),
    )
    for key, names, known, what in lists:
        for index, name in enumerate(names):
            where = f"{origin}: outputs.{key}.{index} = {name!r}"
            if name in names[:index]:
                raise ExperimentError(f"{where}: listed twice")
            if name in known:
                continue
            raise ExperimentError(
                f"{where}: not a {what} culturesim writes{did_you_mean(name, known)}"
            )


def experiment_from_table(
    raw: dict, origin: str, relative_to: Path | None = None, text: str = ""
) -> Experiment:
    """Validate a raw experiment table (as read from TOML) into an Experiment."""
    if not isinstance(raw.get("design"), dict) and "design" in raw:
        raise ExperimentError(f'{origin}: design must be a table: [design] kind = "grid"')
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as error:
        raise ExperimentError(
            describe_error(error.errors()[0], origin, ExperimentSpec, "experiment")
        ) from None

    base_path = resolve_scenario_path(spec.base, relative_to)
    if not base_path.is_file():
        raise ExperimentError(f"{origin}: base = {spec.base!r}: no such scenario file or name")
    try:
        origins: dict[tuple, str] = {}
        table = read_scenario_table(base_path, origins=origins)
        table.setdefault("name", name_from_file(base_path))
        table = deep_merge(table, spec.scenario)
        record_origins(spec.scenario, "", origins)  # "": set in this file's [scenario]
        base = validate_scenario(table, f"{origin} [scenario over {spec.base}]", origins)
    except ExperimentError:
        raise
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None

    experiment = Experiment(spec=spec, base=base, origin=origin, text=text)
    if experiment.n_runs > MAX_RUNS:
        raise ExperimentError(
            f"{origin}: design gives {experiment.n_runs:,} runs "
            f"({experiment.n_points:,} points x {plural(spec.replicates, 'replicate')}); "
            f"at most {MAX_RUNS:,} are allowed"
        )
    experiment.maps = [_parameter_map(i, p, base, origin) for i, p in enumerate(spec.parameters)]
    if spec.posterior_draws is not None:
        try:
            experiment.posterior_draws  # noqa: B018 - read (and check) the posterior now
        except ScenarioError as error:
            raise ExperimentError(f"{origin}: posterior_draws: {error}") from None
    if spec.outputs.summary or spec.outputs.timeseries:
        _check_outputs(spec.outputs, origin)
    return experiment


def resolve_experiment_path(name: str | Path) -> Path:
    """A path as given, else a bundled experiment's name (`pressure-funding`)."""
    path = Path(name)
    candidates = [path, EXPERIMENT_DIR / path, EXPERIMENT_DIR / f"{path}.toml"]
    return next((c for c in candidates if c.is_file()), path)


def is_experiment_file(name: str | Path) -> bool:
    """Whether `culturesim validate NAME` means an experiment: a file with `base` or `[design]`,
    or the name of a bundled experiment that is not also a bundled scenario's."""
    path = Path(name)
    if not path.is_file():
        if resolve_scenario_path(name).is_file():
            return False
        path = resolve_experiment_path(name)
    try:
        return path.is_file() and is_experiment_table(read_toml(path))
    except ScenarioError:
        return False  # the scenario loader reports the syntax error


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file (or a bundled experiment's name)."""
    resolved = resolve_experiment_path(path)
    if resolved.is_dir():
        raise ExperimentError(f"{path}: is a folder, not an experiment file")
    if not resolved.exists():
        raise ExperimentError(f"{path}: no such file or bundled experiment")
    try:
        raw = read_toml(resolved)
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None
    raw.setdefault("name", name_from_file(resolved))
    text = resolved.read_text(encoding="utf-8")
    return experiment_from_table(raw, str(path), resolved.parent, text)


# --- designs ---------------------------------------------------------------------------------


def _design_rng(experiment: Experiment) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(experiment.spec.seed, spawn_key=(0,)))


def _salib_seed(experiment: Experiment) -> int:
    return int(_design_rng(experiment).integers(0, 2**31 - 1))


def unit_sample(experiment: Experiment) -> np.ndarray:
    """The sampler's points in the unit hypercube, one column per varied parameter."""
    spec = experiment.spec
    dims = len(spec.parameters)
    kind = spec.design.kind
    problem = {"num_vars": dims, "names": experiment.paths, "bounds": [[0.0, 1.0]] * dims}
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
