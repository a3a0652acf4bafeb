"""Experiment files: a base scenario, the parameters to vary, a design, replicates and outputs.

An experiment is read and checked in full before anything runs, with the same one-line errors
as scenario files: every varied path is tried on the base scenario at both ends of its range, so
an unknown path or an out-of-bounds value is reported with the file and the field that holds it.

Designs are drawn by `culturesim.batch.designs`.

Seeds: every random choice of a sweep comes from the experiment's ``seed`` through
`numpy.random.SeedSequence`: child 0 draws the design, child 1 is split into one child per run
(``SeedSequence(seed).spawn(2)[1].spawn(n_runs)[run_id]``, computed directly from the spawn key).
With ``common_random_numbers = true`` the runs' seeds depend on the replicate only, so every
design point sees the same random draws and their differences are the parameters, not noise.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import (
    ValidationError,
)

from culturesim.batch.designs import ParameterMap, count_points, make_design
from culturesim.batch.experiment_schema import (
    MAX_RUNS,
    ExperimentSpec,
    Outputs,
    Parameter,
)
from culturesim.bundled import bundled_folder
from culturesim.engine.measures import SERIES_MEASURES, SUMMARY_MEASURES, did_you_mean
from culturesim.engine.scenario import (
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
from culturesim.schema import describe_error

EXPERIMENT_DIR = bundled_folder("experiments")


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 run', '2 runs'; `words` for an irregular plural ('1 process', '3 processes')."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def is_experiment_table(raw: dict) -> bool:
    """Whether a TOML table is an experiment (it has a `base` or a `[design]`), not a scenario."""
    return "base" in raw or "design" in raw


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
        # Stored as validated, in the field's type (2.0 -> 2, 1 -> true), so the design
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
        bundled = sorted(p.stem for p in EXPERIMENT_DIR.glob("*.toml"))
        close = difflib.get_close_matches(Path(path).stem, bundled, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f"; bundled: {', '.join(bundled)}"
        raise ExperimentError(f"{path}: no such file or bundled experiment{hint}")
    try:
        raw = read_toml(resolved)
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None
    raw.setdefault("name", name_from_file(resolved))
    text = resolved.read_text(encoding="utf-8")
    return experiment_from_table(raw, str(path), resolved.parent, text)
