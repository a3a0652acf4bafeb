"""The scenario schema: the one source of truth for every parameter.

Each parameter is declared once (`culturesim.engine.parameter.param`), with its default, unit,
allowed range and source. Validation, `culturesim show`, the page's sliders, the sweep's allowed
paths and the ODD's parameter table are all generated from these declarations. The sections
live by subject: the organisation (`scenario_organisation`), how staff feel and act
(`scenario_people`), how trusts and the system respond (`scenario_system`); this module holds
the run settings, the drivers and shock, the interventions and the `Scenario` that gathers them,
and re-exports every section, so `from culturesim.engine.scenario import Behaviour` still works.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from culturesim.engine.parameter import param  # noqa: F401 (re-exported)
from culturesim.engine.scenario_files import (  # noqa: F401 (re-exported)
    MAX_EXTENDS,
    MAX_FILE_BYTES,
    MAX_NESTING,
    SCENARIO_DIR,
    blame,
    bundled_scenarios,
    deep_merge,
    load_scenario,
    name_from_file,
    read_scenario_table,
    read_toml,
    record_origins,
    resolve_scenario_path,
)
from culturesim.engine.scenario_organisation import (  # noqa: F401 (re-exported)
    ROLES,
    Organisation,
    Population,
    Traits,
    TrustEffects,
)
from culturesim.engine.scenario_people import (  # noqa: F401 (re-exported)
    Aggression,
    Behaviour,
    Cascades,
    Observation,
    Persistence,
    Pressure,
    Socialisation,
    SpeakingUp,
    Strain,
    Targets,
    Workload,
)
from culturesim.engine.scenario_system import (  # noqa: F401 (re-exported)
    Quality,
    Recruitment,
    Regulator,
    SpecialMeasures,
    TemporaryStaffing,
    Turnover,
)
from culturesim.errors import ScenarioError, one_line  # noqa: F401 (re-exported)
from culturesim.schema import Section, describe_error, parameter_bounds  # noqa: F401 (re-exported)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}$"
"""Scenario and experiment names: they name output folders, so no path can hide in one."""
NAME_RULE = "must be 1-80 letters, digits, '-', '_', '.' or '+' (it names the output folder)"


# --- run settings ----------------------------------------------------------------------------


class RunSettings(Section):
    steps: int = param(260, 1, 5200, unit="weeks", source="design", doc="Weeks to simulate.")
    seed: int = param(1, 0, 2**63 - 1, source="design", doc="Seed of all random draws.")
    snapshot_every: int = param(
        0,
        0,
        5200,
        unit="weeks",
        source="design",
        doc="Write every person's state every K weeks to agents.parquet (0: final state only).",
    )
    burn_in_weeks: int = param(
        52,
        0,
        520,
        unit="weeks",
        source="assumption: a year lets strain, norms and vacancies settle",
        doc="Weeks run before week 0 with the drivers at their week-0 values; not recorded.",
    )
    record_events: bool = param(True, source="design", doc="Record every bullying act.")
    figures: bool = param(True, source="design", doc="Draw the run folder's figures.")


# --- drivers ---------------------------------------------------------------------------------


class Change(Section):
    week: int = param(0, 0, 5200, unit="week", source="design", doc="When the change starts.")
    value: float = param(1.0, source="design", doc="Value reached.")
    over_weeks: int = param(
        0, 0, 5200, unit="weeks", source="design", doc="0 for a step, else a linear ramp's length."
    )


class Schedule(Section):
    """A driver over time: a starting value, then steps or linear ramps at given weeks."""

    value: float = param(1.0, source="design", doc="Value at week 0.")
    changes: list[Change] = Field(default_factory=list)

    def values(self, steps: int) -> np.ndarray:
        """The driver's value in each week 0..steps-1."""
        series = np.full(steps, self.value, dtype=float)
        for change in sorted(self.changes, key=lambda c: c.week):
            if change.week >= steps:
                continue
            before = series[change.week]
            if change.over_weeks == 0:
                series[change.week :] = change.value
                continue
            progress = np.arange(steps - change.week) / change.over_weeks
            series[change.week :] = before + (change.value - before) * np.minimum(progress, 1.0)
        return series


def driver(default: float, lo: float, hi: float, doc: str, source: str) -> Any:
    """Declare a driver: a schedule whose week-0 value and changes must lie in [lo, hi]."""
    return Field(
        default_factory=lambda: Schedule(value=default),
        description=doc,
        json_schema_extra={"unit": "relative", "source": source, "range": [lo, hi]},
    )


class Drivers(Section):
    regulator_pressure: Schedule = driver(
        0.5,
        0.0,
        3.0,
        "Intensity of targets, inspection and media scrutiny felt by a trust's board (0-3).",
        "scale; 0.5 a typical year (assumption)",
    )
    funding: Schedule = driver(
        1.0,
        0.3,
        2.0,
        "Funding relative to demand (1 funds the establishment to meet demand).",
        "scale",
    )
    demand: Schedule = driver(
        1.0, 0.3, 3.0, "Patient demand relative to the establishment's capacity.", "scale"
    )
    public_aggression: Schedule = driver(
        1.0,
        0.0,
        5.0,
        "Aggression from patients and the public, relative to the calibrated rate.",
        "scale",
    )

    @model_validator(mode="after")
    def _in_range(self) -> Drivers:
        for name, (lo, hi) in DRIVER_RANGES.items():
            schedule: Schedule = getattr(self, name)
            for where, value in [("value", schedule.value)] + [
                (f"changes.{i}.value", c.value) for i, c in enumerate(schedule.changes)
            ]:
                if not lo <= value <= hi:
                    raise ValueError(f"{name}.{where} = {value}: must be from {lo} to {hi}")
        return self


DRIVER_RANGES: dict[str, tuple[float, float]] = {
    name: tuple(field.json_schema_extra["range"]) for name, field in Drivers.model_fields.items()
}
"""Each driver's allowed (min, max), from its declaration in `Drivers`."""


class Shock(Section):
    """A temporary shock at the start of the recorded run (the tipping analysis's 'high start').

    For recorded weeks 0 to `weeks` - 1 the regulator pressure and funding are held at the
    shock's values; the scenario's own schedules apply from then on. One scalar (`weeks`)
    switches it on, so a sweep can cross it with any design.
    """

    weeks: int = param(
        0,
        0,
        520,
        unit="weeks",
        source="design",
        doc="Weeks of shock from week 0 (0: none).",
    )
    regulator_pressure: float = param(
        3.0,
        0.0,
        3.0,
        unit="relative",
        source="design: the top of the regulator pressure range",
        doc="Regulator pressure held during the shock.",
    )
    funding: float = param(
        0.7,
        0.3,
        2.0,
        unit="relative",
        source="design: a deep cut",
        doc="Funding held during the shock.",
    )


# --- interventions ---------------------------------------------------------------------------


class LeadershipProgramme(Section):
    kind: Literal["leadership_programme"]
    week: int = param(52, 0, 5200, unit="week", source="design", doc="Start week.")
    share_of_leaders: float = param(
        0.5, 0, 1, source="design", doc="Share of leaders (people with reports) trained."
    )
    strength: float = param(
        0.5,
        0,
        1,
        source="design",
        doc="Share of the gap to full compassion disposition the training closes.",
    )

    def apply(self, model: Any) -> None:
        """Train a random share of the leaders now in post (culturesim.engine.interventions)."""
        model.start_leadership_programme(self.share_of_leaders, self.strength)


class FundingChange(Section):
    kind: Literal["funding_change"]
    week: int = param(104, 0, 5200, unit="week", source="design", doc="When it takes effect.")
    factor: float = param(0.9, 0.3, 2.0, source="design", doc="Multiplies funding from then on.")

    def apply(self, model: Any) -> None:
        model.funding_factor *= self.factor


class StanceChange(Section):
    kind: Literal["stance_change"]
    week: int = param(104, 0, 5200, unit="week", source="design", doc="When it takes effect.")
    stance: float = param(0.5, 0, 1, source="design", doc="The regulator's new stance.")

    def apply(self, model: Any) -> None:
        model.stance = self.stance


Intervention = Annotated[
    LeadershipProgramme | FundingChange | StanceChange, Field(discriminator="kind")
]
INTERVENTION_KINDS = {
    "leadership_programme": LeadershipProgramme,
    "funding_change": FundingChange,
    "stance_change": StanceChange,
}


# --- the scenario ----------------------------------------------------------------------------


class Scenario(Section):
    name: str = Field(
        "unnamed",
        description="Short name used in output folders.",
        pattern=NAME_PATTERN,
    )
    question: str = Field("", description="The question this scenario asks (one line).")
    run: RunSettings = RunSettings()
    organisation: Organisation = Organisation()
    trust_effects: TrustEffects = TrustEffects()
    population: Population = Population()
    drivers: Drivers = Field(default_factory=Drivers)
    shock: Shock = Shock()
    regulator: Regulator = Regulator()
    special_measures: SpecialMeasures = SpecialMeasures()
    workload: Workload = Workload()
    strain: Strain = Strain()
    pressure: Pressure = Pressure()
    behaviour: Behaviour = Behaviour()
    targets: Targets = Targets()
    aggression: Aggression = Aggression()
    turnover: Turnover = Turnover()
    temporary_staffing: TemporaryStaffing = TemporaryStaffing()
    recruitment: Recruitment = Recruitment()
    socialisation: Socialisation = Socialisation()
    quality: Quality = Quality()
    persistence: Persistence = Persistence()
    speaking_up: SpeakingUp = SpeakingUp()
    cascades: Cascades = Cascades()
    observation: Observation = Observation()
    interventions: list[Intervention] = Field(default_factory=list)

    def changes_after_the_end(self) -> list[str]:
        """Interventions and driver changes scheduled at or after the last week: never applied."""
        steps = self.run.steps
        late = [
            f"interventions.{i}.week = {item.week}"
            for i, item in enumerate(self.interventions)
            if item.week >= steps
        ]
        for name in DRIVER_RANGES:
            for i, change in enumerate(getattr(self.drivers, name).changes):
                if change.week >= steps:
                    late.append(f"drivers.{name}.changes.{i}.week = {change.week}")
        return late

    def with_overrides(self, overrides: dict[str, Any], origin: str = "override") -> Scenario:
        """A copy with values replaced by dotted path, validated like a file."""
        raw = self.model_dump(mode="python")
        for path, value in overrides.items():
            set_dotted(raw, path, value, origin)
        return validate_scenario(raw, origin)


# --- loading and errors ----------------------------------------------------------------------


def validate_scenario(raw: dict, origin: str, origins: dict[tuple, str] | None = None) -> Scenario:
    """Validate a raw scenario table, raising ScenarioError with the first problem, clearly.

    `origins` (from `read_scenario_table`) names the file each value came from; a bad value
    inherited from a parent file is reported as that file's, reached through `origin`.
    """
    interventions = raw.get("interventions")
    for index, item in enumerate(interventions if isinstance(interventions, list) else []):
        if isinstance(item, dict) and str(item.get("kind")) not in INTERVENTION_KINDS:
            source = blame(("interventions",), origins)
            where = f"{source} (via {origin})" if source else origin
            raise ScenarioError(
                f"{where}: interventions.{index}.kind = {item.get('kind')!r}: must be one of "
                f"{', '.join(INTERVENTION_KINDS)}"
            )
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(p for p in first["loc"] if p not in INTERVENTION_KINDS)
        source = blame(loc, origins)
        where = f"{source} (via {origin})" if source else origin
        raise ScenarioError(
            describe_error(first, where, Scenario, "scenario", INTERVENTION_KINDS)
        ) from None


def set_dotted(raw: dict, path: str, value: Any, origin: str) -> None:
    """Set `a.b.c` in a nested table, refusing paths the schema does not have."""
    parts = path.split(".")
    table = raw
    for depth, part in enumerate(parts):
        key: Any = int(part) if part.isdigit() and isinstance(table, list) else part
        last = depth == len(parts) - 1
        if isinstance(table, dict) and key not in table:
            close = difflib.get_close_matches(part, [str(k) for k in table], n=1, cutoff=0.5)
            suggestion = ".".join(parts[:depth] + [close[0]] + parts[depth + 1 :]) if close else ""
            hint = f"; did you mean '{suggestion}'?" if close else ""
            raise ScenarioError(f"{origin}: unknown parameter path '{path}'{hint}")
        if isinstance(table, list) and not (isinstance(key, int) and key < len(table)):
            raise ScenarioError(f"{origin}: unknown parameter path '{path}' (no item {part})")
        if last:
            table[key] = value
        else:
            table = table[key]


def iter_parameters(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[tuple]:
    """Every scalar parameter as (dotted path, field info), for docs, `show` and sweeps."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from iter_parameters(annotation, f"{path}.")
        elif annotation in (int, float, bool, str) or name == "spans_of_control":
            yield path, info
