"""Per-trust outcomes by year: the table `trusts.parquet` (one row per trust and 52-week year).

Trusts differ (their random effects, docs/ODD.md section 5), so a multi-trust run is also a
sample of trusts: this table is what a researcher correlates across them, the way trust-level
Staff Survey and workforce statistics are correlated with quality (Wake & Green 2019).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from culturesim.engine.measures import Observed
from culturesim.engine.organisation import Organisation
from culturesim.engine.scenario import Scenario
from culturesim.engine.state import COMPASSIONATE

YEAR_WEEKS = 52
SOURCES = {
    "bullied_by_public": "aggressed_week",
    "bullied_by_colleagues": "bullied_by_colleague_week",
    "bullied_by_managers": "bullied_by_manager_week",
    "bullied_by_staff": "bullied_week",
}
TRUST_COLUMNS: dict[str, str] = {
    "trust": "trust index",
    "year": "52-week block of the recorded run (0 = weeks 0-51)",
    "first_week": "first week of the block",
    "weeks": "weeks recorded in the block (under 52 for a last, partial year)",
    "posts": "posts in the trust",
    "staff": "mean staff in post",
    "vacancy_rate": "mean share of posts vacant",
    **{
        name: f"share of staff in post {name.replace('_', ' ')} at least once in the survey's "
        "look-back, at the block's last week"
        for name in SOURCES
    },
    "bullying_acts": "acts of bullying by staff on the trust's staff in the block",
    "leavers": "people who left in the block (removals of chief executives not counted)",
    "leaver_rate": "leavers / mean staff, per year",
    "compassion_climate": "mean weekly share of staff in post acting compassionately",
    "mean_strain": "mean strain of staff in post",
    "care_quality": "mean weekly care quality (Eq. 10)",
    "harm_events": "harm events in the block",
    "harm_per_1000_staff_year": "harm events per 1,000 staff in post a year",
    "ceo_exits": "chief-executive exits (removals included)",
    "rated_quality": "mean of the regulator's ratings in the block (none: no rating)",
    "rating": "the block's last rating: good (target met), requires improvement, inadequate",
    "funding": "trust funding relative to the national level (drawn once)",
    "case_mix": "trust case mix (random effect)",
    "leadership": "trust shift of leaders' compassion (random effect)",
    "hiring": "trust hiring-rate multiplier (random effect)",
    "leaving": "trust shift of the leaving logit (random effect)",
    "care": "trust care-quality multiplier (random effect)",
}
"""The columns of trusts.parquet, in order, with their meaning (docs/ODD.md section 7.14)."""


def rating(rated_quality: np.ndarray, scenario: Scenario) -> np.ndarray:
    """The regulator's category for each rated quality (Eq. 13's thresholds)."""
    r = scenario.regulator
    return np.where(
        rated_quality < r.inadequate_quality,
        "inadequate",
        np.where(rated_quality < r.quality_target, "requires improvement", "good"),
    )


class TrustRecord:
    """Each recorded week's per-trust sums; `table()` makes one row per trust and year."""

    WEEKLY = (
        "staff",
        "compassionate",
        "strain",
        "acts",
        "leavers",
        "ceo_exits",
        "quality",
        "harm",
    )

    def __init__(self, scenario: Scenario, org: Organisation) -> None:
        self.scenario = scenario
        self.org = org
        self.weeks: list[int] = []
        self.weekly: dict[str, list[np.ndarray]] = {name: [] for name in self.WEEKLY}
        self.prevalence: dict[int, dict[str, np.ndarray]] = {}
        self.ratings: dict[int, list[np.ndarray]] = {}
        self._sums: tuple[int, tuple] | None = None

    def _count(self, posts: np.ndarray) -> np.ndarray:
        """How many of these posts each trust has."""
        return np.bincount(self.org.trust[posts], minlength=self.org.n_trusts)

    def record(self, o: Observed) -> None:
        """Add one recorded week."""
        org, people = self.org, o.people
        occupied = people.occupied
        year = o.t // YEAR_WEEKS
        self.weeks.append(o.t)
        leaving = o.leaving if o.leaving is not None else np.zeros(0, dtype=np.int64)
        removed = o.removed if o.removed is not None else np.zeros(0, dtype=np.int64)
        staff = org.count_per_trust(occupied)
        values = {
            "staff": staff,
            "compassionate": org.count_per_trust(occupied & (people.behaviour == COMPASSIONATE)),
            "strain": org.sum_per_trust(people.strain, occupied),
            "acts": self._count(o.victim),
            "leavers": self._count(leaving),
            "ceo_exits": self._count(np.concatenate((leaving[org.level[leaving] == 0], removed))),
            "quality": o.trust_quality,
            "harm": o.harm,
        }
        for name, value in values.items():
            self.weekly[name].append(np.asarray(value, dtype=float))
        if o.rated_quality is not None:
            self.ratings.setdefault(year, []).append(np.asarray(o.rated_quality, dtype=float))
        if (o.t + 1) % YEAR_WEEKS == 0 or o.t + 1 >= self.scenario.run.steps:
            since = o.t - self.scenario.observation.survey_weeks
            self.prevalence[year] = {
                name: org.count_per_trust(occupied & (getattr(people, source) > since))
                / np.maximum(staff, 1)
                for name, source in SOURCES.items()
            }

    def so_far(self) -> TrustRecord:
        """The record as it stands: a copy that the weeks recorded later leave alone."""
        copy = TrustRecord(self.scenario, self.org)
        copy.weeks = list(self.weeks)
        copy.weekly = {name: list(rows) for name, rows in self.weekly.items()}
        copy.prevalence = dict(self.prevalence)  # a year's entry is replaced, never changed
        copy.ratings = {year: list(rated) for year, rated in self.ratings.items()}
        copy._sums = self._sums
        return copy

    def _yearly_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The recorded weeks, their years, where each year begins, and each weekly sum added
        up by year for every trust: worked out once for the replicates side by side that share
        this record (a year's sum adds its weeks in order, trust by trust, whichever trusts are
        taken)."""
        if self._sums is None or self._sums[0] != len(self.weeks):
            weeks = np.asarray(self.weeks)
            years = weeks // YEAR_WEEKS
            blocks = np.flatnonzero(np.r_[True, years[1:] != years[:-1]])
            sums = {
                name: np.add.reduceat(np.stack(rows), blocks, axis=0)
                for name, rows in self.weekly.items()
            }
            self._sums = (len(self.weeks), (weeks, years, blocks, sums))
        return self._sums[1]

    def table(self, trusts: slice = slice(None), org: Organisation | None = None) -> pd.DataFrame:
        """One row per trust and year, with the columns of `TRUST_COLUMNS`: of the `trusts`
        of one run, whose own organisation is `org`, when the record is of several runs side
        by side (culturesim.engine.replicates)."""
        org = org or self.org
        n = org.n_trusts
        if not self.weeks:
            return pd.DataFrame({name: [] for name in TRUST_COLUMNS})
        weeks, years, blocks, every_trust = self._yearly_sums()
        sums = {name: values[:, trusts] for name, values in every_trust.items()}
        n_weeks = np.diff(np.r_[blocks, len(weeks)])[:, None]
        posts = np.diff(org.trust_start)[None, :]
        staff = sums["staff"] / n_weeks
        staff_years = sums["staff"] / YEAR_WEEKS
        block_years = years[blocks]
        frame = {
            "trust": np.tile(np.arange(n), len(blocks)),
            "year": np.repeat(block_years, n),
            "first_week": np.repeat(weeks[blocks], n),
            "weeks": np.repeat(n_weeks[:, 0], n),
            "posts": np.tile(posts[0], len(blocks)),
            "staff": staff,
            "vacancy_rate": 1 - staff / np.maximum(posts, 1),
        }
        for name in SOURCES:
            frame[name] = np.stack(
                [
                    self.prevalence[y][name][trusts] if y in self.prevalence else np.full(n, np.nan)
                    for y in block_years
                ]
            )
        frame |= {
            "bullying_acts": sums["acts"],
            "leavers": sums["leavers"],
            "leaver_rate": sums["leavers"] / np.maximum(staff, 1) * YEAR_WEEKS / n_weeks,
            "compassion_climate": sums["compassionate"] / np.maximum(sums["staff"], 1),
            "mean_strain": sums["strain"] / np.maximum(sums["staff"], 1),
            "care_quality": sums["quality"] / n_weeks,
            "harm_events": sums["harm"],
            "harm_per_1000_staff_year": sums["harm"] / np.maximum(staff_years, 1e-9) * 1000,
            "ceo_exits": sums["ceo_exits"],
        }
        rated = [
            np.mean(np.stack(self.ratings[y])[:, trusts], axis=0) if y in self.ratings else None
            for y in block_years
        ]
        frame["rated_quality"] = np.stack([np.full(n, np.nan) if r is None else r for r in rated])
        frame["rating"] = np.stack(
            [
                np.full(n, None, dtype=object)
                if y not in self.ratings
                else rating(self.ratings[y][-1][trusts], self.scenario).astype(object)
                for y in block_years
            ]
        )
        effects = {
            "funding": org.trust_funding,
            "case_mix": org.trust_case_mix,
            "leadership": org.trust_leadership,
            "hiring": org.trust_hiring,
            "leaving": org.trust_leaving,
            "care": org.trust_care,
        }
        for name, value in effects.items():
            frame[name] = np.tile(value, len(blocks))
        table = pd.DataFrame({name: np.ravel(value) for name, value in frame.items()})
        integer = ("trust", "year", "first_week", "weeks", "posts", "bullying_acts", "leavers")
        table = table.astype({name: np.int64 for name in (*integer, "harm_events", "ceo_exits")})
        return table[list(TRUST_COLUMNS)]
