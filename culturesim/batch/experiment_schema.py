"""The experiment file's schema: its parameters, design, outputs and executor, each section
validated on its own (pydantic, via the shared `culturesim.schema.Section`). Checking an
experiment against its base scenario, and loading files, is `culturesim.batch.experiment`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from culturesim.engine.scenario import (
    NAME_PATTERN,
)
from culturesim.schema import Section

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris")
MAX_RUNS = 10_000_000


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
        description="Runs sent to a worker as one task, a design point's replicates running "
        "side by side in one model (default: on local processes as many of a point's replicates "
        "as share a model, else 1; on Dask up to 16; keeping at least 4 tasks per worker).",
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
