"""The scenario's organisation: trusts and their structure, trust effects, and the traits of
each role."""

from __future__ import annotations

from pydantic import field_validator

from culturesim.engine.parameter import param
from culturesim.schema import Section

ROLES = ("chief_executive", "director", "manager", "team_leader", "frontline")


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
