"""The scenario schema: the one source of truth for every parameter.

Each parameter is declared once, with its default, unit, allowed range and source. Validation,
`culturesim show`, the page's sliders, the sweep's allowed paths and the ODD's parameter table
are all generated from these declarations.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

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
from culturesim.errors import ScenarioError, one_line  # noqa: F401 (re-exported)
from culturesim.schema import Section, describe_error, parameter_bounds  # noqa: F401 (re-exported)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}$"
"""Scenario and experiment names: they name output folders, so no path can hide in one."""
NAME_RULE = "must be 1-80 letters, digits, '-', '_', '.' or '+' (it names the output folder)"
ROLES = ("chief_executive", "director", "manager", "team_leader", "frontline")


def param(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    unit: str = "",
    source: str,
    doc: str,
) -> Any:
    """Declare a parameter with everything a user, a validator and the ODD need to know."""
    return Field(
        default,
        ge=lo,
        le=hi,
        description=doc,
        json_schema_extra={"unit": unit, "source": source},
    )


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


# --- organisation ----------------------------------------------------------------------------


class Organisation(Section):
    trusts: int = param(1, 1, 1000, source="design", doc="Number of trusts (organisations).")
    staff_per_trust: int = param(
        2000,
        20,
        50000,
        unit="posts",
        source="NHS acute trusts employ 2,000-15,000 staff",
        doc="Mean number of posts in a trust.",
    )
    trust_size_spread: float = param(
        0.0,
        0.0,
        1.5,
        source="assumption",
        doc="Log-normal spread (sigma of log size) of trust sizes around staff_per_trust.",
    )
    spans_of_control: list[int] = param(
        [7, 5, 6, 12],
        unit="reports",
        source="NHS structures: boards of 6-8 executives, wards of 10-30",
        doc="Direct reports per chief executive, director, manager and team leader.",
    )
    peer_ties: int = param(
        4,
        0,
        30,
        unit="ties",
        source="assumption; burnout clusters in units (Bakker 2005)",
        doc="Colleague ties each person makes inside their own team.",
    )
    cross_team_ties: float = param(
        0.5,
        0.0,
        10.0,
        unit="ties",
        source="assumption",
        doc="Mean extra ties to random same-level posts in the trust (mostly other teams).",
    )
    trust_funding_spread: float = param(
        0.05,
        0.0,
        0.5,
        source="assumption; spread of trust financial positions",
        doc="Standard deviation of each trust's funding relative to the national level.",
    )

    @field_validator("spans_of_control")
    @classmethod
    def _four_spans(cls, spans: list[int]) -> list[int]:
        if len(spans) != len(ROLES) - 1 or min(spans) < 1 or max(spans) > 100:
            raise ValueError(f"must be {len(ROLES) - 1} whole numbers from 1 to 100")
        return spans


class TrustEffects(Section):
    """Trust-level random effects: why real trusts differ beyond their staff's behaviour.

    Each trust draws its own values once, from the run's `trusts` random stream (docs/ODD.md
    section 5), so trusts are not clones of one another.
    """

    case_mix_spread: float = param(
        0.2,
        0.0,
        1.0,
        source="assumption: trusts' expected harm from their patients (case mix) differs by "
        "tens of percent",
        doc="Sigma of the log-normal case mix (mean 1): multiplies a trust's expected harm "
        "(its demand and its tariff income alike, so not its workload).",
    )
    leadership_spread: float = param(
        0.03,
        0.0,
        0.5,
        source="assumption: boards and their appointments differ between trusts (West et al.)",
        doc="Standard deviation of a trust's shift of its leaders' mean compassion disposition.",
    )
    hiring_spread: float = param(
        0.15,
        0.0,
        1.5,
        source="assumption: vacancy rates differ between trusts and regions (NHS vacancy "
        "statistics); set with leaving_spread so trusts' leaver rates span about 7-18%",
        doc="Sigma of the log-normal hiring-rate multiplier (mean 1) of a trust's staff posts "
        "(local labour supply).",
    )
    care_spread: float = param(
        0.08,
        0.0,
        0.5,
        source="Wake & Green 2019; Jonker et al. 2021: staff experience explains about 10-30% "
        "of the variance in trust quality ratings; assumption: the rest is the trust's own",
        doc="Sigma of the log-normal multiplier (mean 1) of a trust's care quality from what "
        "its staff's state does not hold: estate, equipment, clinical systems, history.",
    )
    leaving_spread: float = param(
        0.15,
        0.0,
        2.0,
        source="assumption: trust leaver rates range roughly 7-20% a year; nurse turnover up "
        "to one in three in some trusts (Health Foundation 2017)",
        doc="Standard deviation of a trust's shift of the leaving logit (local labour market, "
        "housing costs).",
    )


class Traits(Section):
    compassion_mean: float = param(
        0.6,
        0.0,
        1.0,
        source="assumption; most staff enter caring professions with high compassion",
        doc="Mean compassion disposition (0 none, 1 highest).",
    )
    compassion_sd: float = param(0.15, 0.0, 0.5, source="assumption", doc="Its spread.")
    resilience_mean: float = param(
        0.5, 0.0, 1.0, source="assumption; scale midpoint", doc="Mean personal resilience (0-1)."
    )
    resilience_sd: float = param(0.15, 0.0, 0.5, source="assumption", doc="Its spread.")


class Population(Section):
    chief_executive: Traits = Traits()
    director: Traits = Traits()
    manager: Traits = Traits()
    team_leader: Traits = Traits()
    frontline: Traits = Traits()
    mean_start_tenure_weeks: float = param(
        400.0,
        1,
        2000,
        unit="weeks",
        source="assumption: NHS staff turnover of about 12% a year (NHS Digital)",
        doc="Mean of the geometric tenure of the people in post at the start.",
    )


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


# --- mechanisms ------------------------------------------------------------------------------


class Workload(Section):
    staffing_floor: float = param(
        0.2,
        0.01,
        1,
        source="assumption: below a fifth of its posts a team is propped up by bank staff",
        doc="Staffed share below which a team's workload rises no further (Eq. 2).",
    )


class Strain(Section):
    baseline_logit: float = param(
        -1.2,
        -6,
        6,
        source="assumption: resting strain about 0.25",
        doc="Strain's target at rest (logit).",
    )
    workload_weight: float = param(
        3.0,
        0,
        20,
        source="Homer 1985 burnout dynamics; assumption",
        doc="Logit rise of target strain per unit of workload above 1.",
    )
    pressure_weight: float = param(
        1.5, 0, 20, source="assumption", doc="Logit rise per unit of pressure felt from above."
    )
    bullied_weight: float = param(
        1.0,
        0,
        20,
        source="assumption: one act by staff weighs as one act of public aggression",
        doc="Logit rise in a week the person suffers a negative act by staff (acute, one act).",
    )
    persistent_weight: float = param(
        1.5,
        0,
        20,
        source="Nielsen & Einarsen 2012: persistent bullying strongly predicts strain",
        doc="Logit rise while persistently bullied (chronic; on top of each act's own rise).",
    )
    aggression_weight: float = param(
        1.0, 0, 20, source="assumption", doc="Logit rise in a week of patient or public aggression."
    )
    support_weight: float = param(
        1.5,
        0,
        20,
        source="social support buffers strain (Bakker 2005); assumption",
        doc="Logit fall per unit of compassion received.",
    )
    resilience_weight: float = param(
        2.0, 0, 20, source="assumption", doc="Logit fall per unit of resilience above 0.5."
    )
    time_constant_weeks: float = param(
        6.0,
        1,
        104,
        unit="weeks",
        source="assumption: strain follows load over about 6 weeks",
        doc="Weeks for strain to close 63% of the gap to its target.",
    )


class Pressure(Section):
    transmission: float = param(
        0.9,
        0,
        1,
        source="trickle-down (Mawritz et al. 2012); assumption",
        doc="Share of a leader's felt pressure passed to each report.",
    )
    leader_buffering: float = param(
        0.5,
        0,
        1,
        source="compassionate leadership buffers (West et al.); assumption",
        doc="Share of pressure a fully compassionate leader absorbs instead of passing down.",
    )


class Behaviour(Section):
    bullying_baseline_logit: float = param(
        -7.47,
        -15,
        5,
        source="calibrated (experiments/calibrate.py)",
        doc="Logit of bullying in a week for an average, unstrained person.",
    )
    leader_logit_offset: float = param(
        2.87,
        -5,
        5,
        source="calibrated (experiments/calibrate.py)",
        doc="Added to the bullying logit of people who lead a team (power).",
    )
    strain_weight: float = param(
        3.0,
        0,
        20,
        source="frustration-aggression; Baillien et al. 2009",
        doc="Logit rise of bullying per unit of strain.",
    )
    victimisation_weight: float = param(
        1.5,
        0,
        20,
        source="Hauge et al. 2009: being a target is the strongest predictor",
        doc="Logit rise of bullying while persistently bullied (docs/ODD.md 7.7a).",
    )
    habit_weight: float = param(
        17.9,
        0,
        50,
        source="calibrated (experiments/calibrate.py); bullying is a sustained pattern of "
        "one or a few perpetrators (Leymann 1996)",
        doc="Logit rise per unit of one's own recent share of weeks bullying (habit).",
    )
    norm_weight: float = param(
        3.0,
        0,
        50,
        source="prior, not fitted (docs/ODD.md section 8): social learning and trickle-down, "
        "Harrison & Carroll 1991, Mawritz et al. 2012, Bakker et al. 2005",
        doc="Logit rise per unit of local bullying norm (neighbours' recent bullying share).",
    )
    compassion_weight: float = param(
        29.1,
        0,
        50,
        source="calibrated (experiments/calibrate.py); perpetrators are a minority "
        "(Matthiesen & Einarsen 2007)",
        doc="Logit fall per unit of compassion disposition above 0.5.",
    )
    support_weight: float = param(
        1.0, 0, 20, source="assumption", doc="Logit fall per unit of compassion received."
    )
    compassion_baseline_logit: float = param(
        -0.2, -10, 10, source="assumption", doc="Logit of acting compassionately (if not bullying)."
    )
    compassion_disposition_weight: float = param(
        4.0, 0, 20, source="assumption", doc="Its rise per unit of disposition above 0.5."
    )
    compassion_strain_weight: float = param(
        2.0, 0, 20, source="compassion fatigue; assumption", doc="Its fall per unit of strain."
    )
    compassion_norm_weight: float = param(
        2.0, 0, 20, source="assumption", doc="Its rise per unit of local compassion norm above 0.5."
    )
    norm_memory_weeks: float = param(
        8.0,
        1,
        104,
        unit="weeks",
        source="assumption",
        doc="Memory of the exponentially weighted behaviour shares that make local norms.",
    )
    newcomer_norm_boost: float = param(
        1.0,
        0,
        10,
        source="socialisation is fastest early (Harrison & Carroll 1991)",
        doc="Extra weight on local norms for a newcomer, fading with tenure.",
    )


class Targets(Section):
    downward_weight: float = param(
        0.5,
        0,
        1,
        source="calibrated (experiments/calibrate.py); bullying runs mostly downwards",
        doc="Weight a bully with reports gives to picking one of them.",
    )
    sideways_weight: float = param(
        0.09,
        0,
        1,
        source="assumption: a peer 9 times as often as one's manager",
        doc="Weight given to picking a colleague (peer tie).",
    )
    upward_weight: float = param(
        0.01,
        0,
        1,
        source="assumption: upward bullying is rare (Carter et al. 2013)",
        doc="Weight given to picking one's own manager.",
    )
    repeat_probability: float = param(
        0.896,
        0,
        1,
        source="calibrated (experiments/calibrate.py); bullying targets a person "
        "repeatedly (Leymann 1996; Einarsen et al. 2009)",
        doc="Chance a bully picks their last target again, if that person is still in post.",
    )


class Aggression(Section):
    weekly_rate: float = param(
        0.00619,
        0,
        0.5,
        unit="per person per week",
        source="calibrated (experiments/calibrate.py)",
        doc="Rate of patient and public aggression on a patient-facing person at demand 1.",
    )
    non_patient_facing_exposure: float = param(
        0.2,
        0,
        1,
        source="assumption",
        doc="Relative exposure of managers, directors and chief executives (not patient-facing).",
    )


class Turnover(Section):
    baseline_logit: float = param(
        -7.25,
        -15,
        0,
        source="calibrated (experiments/calibrate.py)",
        doc="Logit of leaving in a week for an unstrained, settled person.",
    )
    strain_weight: float = param(
        2.5,
        0,
        20,
        source="burnout predicts turnover intention; assumption",
        doc="Logit rise per unit of strain.",
    )
    bullied_weight: float = param(
        1.0,
        0,
        20,
        source="persistently bullied staff leave more (Hogh et al. 2011)",
        doc="Logit rise while persistently bullied (docs/ODD.md 7.7a).",
    )
    newcomer_weight: float = param(
        1.0,
        0,
        10,
        source="1 in 4 nurses leave within 3 years (Nuffield Trust)",
        doc="Logit rise for a newcomer, fading with tenure (socialisation.newcomer_weeks).",
    )
    ceo_logit_offset: float = param(
        0.929,
        -5,
        5,
        source="calibrated (experiments/calibrate.py); King's Fund 2018",
        doc="Added to a chief executive's logit of leaving (career moves, exposure).",
    )
    bullied_memory_weeks: int = param(
        12,
        1,
        104,
        unit="weeks",
        source="assumption",
        doc="How long a negative act by staff counts as 'recent' for care quality (Eq. 10).",
    )
    weekly_hiring_rate: float = param(
        0.0228,
        0,
        1,
        unit="per vacancy per week",
        source="calibrated (experiments/calibrate.py)",
        doc="Chance a vacancy is filled in a week at funding 1.",
    )
    executive_hiring_rate: float = param(
        0.25,
        0,
        1,
        unit="per vacancy per week",
        source="assumption: boards appoint an interim chief executive or director within weeks",
        doc="Chance a chief executive's or director's vacancy is filled in a week at funding 1.",
    )
    reputation_penalty: float = param(
        2.0, 0, 10, source="assumption", doc="Fall in hiring per unit of the trust's bullying norm."
    )
    funding_cap: float = param(
        1.5,
        1,
        5,
        source="assumption: money beyond half as much again finds no more staff to hire",
        doc="Funding above this level speeds hiring no further (Eq. 12).",
    )


class TemporaryStaffing(Section):
    cover: float = param(
        0.8,
        0,
        1,
        source="NHS Improvement 2018: 80-95% of nursing vacancies covered by bank or agency staff",
        doc="Share of a trust's vacant posts covered by bank and agency staff (Eq. 2a).",
    )
    max_share: float = param(
        0.1,
        0,
        1,
        unit="share of posts",
        source="estimate: agency spend peaked at 7.5% of the NHS pay bill in 2015/16 (8.2% in "
        "July 2015; NHS Improvement), with bank staff on top, under the 2015-16 agency ceilings",
        doc="Most of a trust's posts that temporary staff can cover at once.",
    )
    effectiveness: float = param(
        0.75,
        0,
        1,
        source="assumption: temporary staff do not know the ward, its patients or its routines",
        doc="Workload relief from a temporary worker relative to a substantive one.",
    )
    premium: float = param(
        0.4,
        0,
        3,
        source="estimate: NHS Improvement's 2016 price caps allow agency pay up to 55% above "
        "the substantive rate; bank shifts cost little more than substantive ones",
        doc="Extra cost of a temporary worker over the substantive post it covers (share).",
    )
    pay_share: float = param(
        0.65,
        0,
        1,
        source="staff costs are about two thirds of an NHS trust's spending (NHS Providers)",
        doc="Share of a trust's funding that pays for its posts; the premium is on this share.",
    )


class Recruitment(Section):
    usual_vacancy: float = param(
        0.09,
        0,
        1,
        unit="share of posts",
        source="NHS Improvement 2017/18: 8.4-9% of posts vacant",
        doc="Trust vacancy rate above which recruitment effort rises (Eq. 12a).",
    )
    effort_gain: float = param(
        10.0,
        0,
        100,
        source="assumption: a trust with 10 points more vacancies than usual doubles its "
        "recruitment (drives, international recruitment)",
        doc="Rise of recruitment effort per unit of vacancy rate above the usual.",
    )
    max_effort: float = param(
        2.0,
        1,
        10,
        source="assumption: the local labour market; HEE 2015: 30,000 fewer nurses than needed",
        doc="Most a trust can multiply its hiring rate by, however hard it recruits.",
    )


class Socialisation(Section):
    rate: float = param(
        0.002,
        0,
        1,
        unit="per week",
        source="Harrison & Carroll 1991; assumption",
        doc="Weekly pull of a settled person's disposition towards their neighbours'.",
    )
    newcomer_rate: float = param(
        0.02,
        0,
        1,
        unit="per week",
        source="Harrison & Carroll 1991; assumption",
        doc="Extra pull for a newcomer, fading with tenure.",
    )
    newcomer_weeks: float = param(
        26.0,
        1,
        260,
        unit="weeks",
        source="assumption: the first months",
        doc="Tenure over which every newcomer effect fades (e-folding time).",
    )
    leader_weight: float = param(
        0.5,
        0,
        1,
        source="leaders shape culture (West et al.); assumption",
        doc="Weight of one's manager among the neighbours one is socialised by.",
    )


class Quality(Section):
    staffing_exponent: float = param(
        1.0,
        0,
        5,
        source="nurse staffing and outcomes (Griffiths et al. 2018); assumption",
        doc="Elasticity of care quality to the team's staffed share.",
    )
    strain_penalty: float = param(
        0.4,
        0,
        1,
        source="burnout and patient safety (Hall et al. 2016); assumption",
        doc="Quality lost per unit of the team's mean strain.",
    )
    rudeness_penalty: float = param(
        0.15,
        0,
        1,
        source="Riskin et al. 2015: rudeness cut team performance 10-20%",
        doc="Quality lost when all of a team were recently bullied.",
    )
    compassion_gain: float = param(
        0.15,
        0,
        1,
        source="engagement modestly predicts quality (West & Dawson); assumption",
        doc="Quality gained per unit of compassion climate above 0.5.",
    )
    harm_rate: float = param(
        0.002,
        0,
        1,
        unit="per post per week",
        source="scale",
        doc="Expected harm events per frontline post per week at demand 1, case mix 1 and the "
        "reference quality.",
    )
    reference_quality: float = param(
        0.844,
        0,
        1,
        source="calibrated (experiments/calibrate.py): the baseline's mean care quality",
        doc="Care quality at which harm is as expected (Q_ref, Eq. 10b).",
    )
    harm_excess_weight: float = param(
        4.59,
        0,
        20,
        source="calibrated (experiments/calibrate.py): mid-staffs at 25-45% excess harm "
        "(Francis 2013: SMR 1.27-1.45)",
        doc="Excess harm per unit of care quality below the reference (k, Eq. 10b).",
    )


class Regulator(Section):
    stance: float = param(
        0.5, 0, 1, source="scenario", doc="0 punitive (blame, removal) to 1 supportive (help)."
    )
    stance_buffering: float = param(
        0.5,
        0,
        1,
        source="assumption",
        doc="Share of target pressure a fully supportive stance takes out of the blame felt.",
    )
    inspection_weeks: int = param(
        13,
        1,
        260,
        unit="weeks",
        source="quarterly oversight (NHS Oversight Framework)",
        doc="Weeks between ratings of every trust.",
    )
    quality_target: float = param(
        0.75, 0, 1, source="assumption", doc="Care quality the regulator expects."
    )
    inadequate_quality: float = param(
        0.65, 0, 1, source="assumption", doc="Quality below which a trust is rated inadequate."
    )
    pressure_gain: float = param(
        2.0,
        0,
        50,
        source="assumption",
        doc="Extra pressure per unit of quality shortfall at a fully punitive stance.",
    )
    support_gain: float = param(
        1.0,
        0,
        50,
        source="assumption",
        doc="Extra resources (share of funding) per unit of shortfall, fully supportive stance.",
    )
    max_extra_pressure: float = param(
        1.0,
        0,
        3,
        source="assumption: a failing trust feels at most triple the typical pressure",
        doc="Ceiling on the extra pressure a trust can accumulate from poor ratings.",
    )
    max_extra_support: float = param(
        0.15,
        0,
        1,
        source="assumption: support packages are a modest share of income",
        doc="Ceiling on extra resources (share of funding) from support after poor ratings.",
    )
    feedback_decay: float = param(
        0.7,
        0,
        1,
        source="assumption",
        doc="Share of extra pressure or support kept at each rating.",
    )
    ceo_removal_probability: float = param(
        0.3,
        0,
        1,
        source="HSJ 2017: chief executives of inadequate trusts leave sooner",
        doc="Chance an inadequate trust's chief executive is removed, at a fully punitive stance.",
    )


class SpecialMeasures(Section):
    entry_ratings: int = param(
        2,
        1,
        20,
        unit="ratings",
        source="CQC/NHS Improvement special measures since 2013: a trust rated inadequate "
        "(and not improving) enters; assumption: two ratings in a row",
        doc="Consecutive inadequate ratings after which a trust enters special measures (Eq. 13a).",
    )
    min_weeks: int = param(
        52,
        1,
        520,
        unit="weeks",
        source="regulators' 2014 guidance: usually 12 months; trusts that exited spent on "
        "average 20.5 months (HSJ 2016) to 24 months (NHS Providers 2017)",
        doc="Weeks in special measures before a trust can exit at a rating not inadequate.",
    )
    ceo_replacement_probability: float = param(
        0.5,
        0,
        1,
        source="HSJ 2014: 5 chief executives of the 14 Keogh trusts replaced within 7 months "
        "of special measures, and 49 board members",
        doc="Chance the chief executive is replaced on entry, under either stance.",
    )
    extra_funding: float = param(
        0.05,
        0,
        0.5,
        unit="share of funding",
        source="assumption: improvement money and deficit support; the 14 Keogh trusts added "
        "650 nurses and 130 doctors in 3 months (Monitor and NHS TDA 2014)",
        doc="Extra funding while in special measures.",
    )
    recruitment_boost: float = param(
        0.5,
        0,
        10,
        source="Monitor and NHS TDA 2014: 650 nurses and 130 doctors recruited in the first 3 "
        "months of special measures at 14 trusts; assumption for the size",
        doc="Extra recruitment effort while in special measures (within recruitment.max_effort).",
    )
    pressure_relief: float = param(
        0.5,
        0,
        1,
        source="assumption: an improvement director and a buddy trust replace escalating blame "
        "with an agreed plan (CQC 2014, Special measures: one year on)",
        doc="Share of the board's pressure taken off while in special measures.",
    )


class Observation(Section):
    survey_weeks: int = param(
        52,
        1,
        260,
        unit="weeks",
        source="NHS Staff Survey: bullied 'in the last 12 months'",
        doc="Look-back of the bullying prevalence measures (bullied at least once in it).",
    )
    leaver_window_weeks: int = param(
        13,
        1,
        104,
        unit="weeks",
        source="assumption: a quarter smooths the weekly count of leavers",
        doc="Weeks of leavers and staff the weekly leaver rate is averaged over, annualised.",
    )


class Persistence(Section):
    window_weeks: int = param(
        26,
        1,
        30,
        unit="weeks",
        source="Leymann 1996; Einarsen et al. 2009 (NAQ-R): over about six months",
        doc="Look-back over which acts from one source are counted (P).",
    )
    min_weeks: int = param(
        8,
        1,
        30,
        unit="weeks",
        source="Leymann 1996 'at least weekly' read for a model of one act per perpetrator "
        "a week (docs/ODD.md 7.7a)",
        doc="Weeks with acts from one source within the look-back that make persistent "
        "bullying (k); above window_weeks nobody is persistently bullied.",
    )


class SpeakingUp(Section):
    challenge_logit: float = param(
        -3.58,
        -10.0,
        0.0,
        source="calibrated (experiments/calibrate.py); about half of NHS staff say they or a "
        "colleague reported their last experience of bullying (NHS Staff Survey), and what "
        "follows a report varies",
        doc="Weekly logit that a persistent perpetrator's bullying is raised and acted on at "
        "a neutral stance and under a manager of average compassion (rho_0, Eq. 9b).",
    )
    stance_weight: float = param(
        1.0,
        0.0,
        5.0,
        source="assumption: a culture of fear under a target-driven, punitive regime deterred "
        "staff from raising concerns (Francis 2013); speaking-up cultures differ between "
        "trusts (National Guardian's Office, Freedom to Speak Up index)",
        doc="Logit rise in the chance of a challenge from a punitive (0) to a supportive (1) "
        "regulator stance (rho_s, Eq. 9b).",
    )
    manager_compassion_weight: float = param(
        4.0,
        0.0,
        20.0,
        source="assumption: compassionate leaders attend to mistreatment and act on it (West "
        "et al. 2017); 4 is about 1.8 times the odds per standard deviation of compassion",
        doc="Logit rise in the chance of a challenge per unit of the perpetrator's manager's "
        "compassion above 0.5 (rho_c, Eq. 9b).",
    )


class Cascades(Section):
    conversion_window_weeks: int = param(
        12,
        1,
        104,
        unit="weeks",
        source="assumption; Vranjes et al. 2021 time lags",
        doc="A victim who starts bullying within this many weeks is a conversion (W).",
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
