"""The books the per-person reference engine keeps: persistent-bullying sources (Eq. 16),
perpetrator episodes (Eq. 15) and the week's measures, gathered from the agents for the shared
Recorder. A mixin of `culturesim.engine.reference.ReferenceModel`, which owns the state used here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from culturesim.engine.measures import Observed, Runs
from culturesim.engine.state import ATTRIBUTES, People
from culturesim.engine.week import Week


class ReferenceBookkeeping:
    """Sources, episodes and records of `ReferenceModel`, kept person by person."""

    def _count_sources(self) -> None:
        """Eq. 16, staged: the look-back slides a week; acts from the counted source mark it;
        another's act replaces a source with at most one week left (the first such act, in
        post order of the perpetrators)."""
        p = self.scenario.persistence
        mask = (1 << p.window_weeks) - 1
        for person in self.people:
            person.next_source_person = person.source_person
            person.next_source_weeks = (person.source_weeks << 1) & mask
        counted = set()
        for bully, victim, _ in self.acts:
            if victim.source_person == bully.person_id:
                victim.next_source_weeks |= 1
                counted.add(victim.post)
        replaced = set()
        for bully, victim, _ in self.acts:
            if victim.source_person == bully.person_id or victim.post in counted:
                continue
            if victim.post in replaced or victim.next_source_weeks.bit_count() > 1:
                continue
            victim.next_source_person = bully.person_id
            victim.next_source_weeks = 1
            replaced.add(victim.post)

    def _log_episodes(self, acts: list, t: int) -> None:
        """A bully idle for more than W weeks starts an episode; a recent victim's is a child."""
        window = self.scenario.cascades.conversion_window_weeks
        started = conversions = 0
        for bully, _, _ in acts:
            if t - bully.bullied_others_week <= window:
                continue
            parent = -1
            if bully.victimised and bully.bullied_in_episode >= 0:
                parent = bully.bullied_in_episode
            episode = len(self.episode_table)
            if parent >= 0:
                root, generation = self.episode_table[parent][1], self.episode_table[parent][2] + 1
                self._offspring[parent] += 1
                conversions += 1
            else:
                root, generation = episode, 0
            self.episode_table.append((parent, root, generation, bully.post, bully.person_id, t))
            self._offspring.append(0)
            bully.episode = episode
            started += 1
        self._new_by_week.append(started)
        self._conversions_by_week.append(conversions)

    def state(self) -> People:
        """The agents' state gathered into arrays, attribute by attribute (`ATTRIBUTES`)."""
        return People(
            **{
                a.name: np.array([getattr(p, a.name) for p in self.people], dtype=a.dtype)
                for a in ATTRIBUTES
            }
        )

    def _observe(self, week: Week) -> Observed:
        window = self.scenario.cascades.conversion_window_weeks
        reproduction = float("nan")
        if len(self._new_by_week) == 2 * window:
            earlier = sum(list(self._new_by_week)[:window])
            if earlier:
                reproduction = sum(self._conversions_by_week) / earlier
        acts = self.acts
        return Observed(
            t=week.t,
            scenario=self.scenario,
            org=self.org,
            people=self.state(),
            runs=Runs.alone(self.org),
            drivers=week.drivers,
            board=week.board,
            workload=np.array([p.workload for p in self.people]),
            bullies=np.array([b.post for b, _, _ in acts], dtype=np.int64),
            victim=np.array([v.post for _, v, _ in acts], dtype=np.int64),
            relation=np.array([r for _, _, r in acts], dtype=np.int8),
            leavers=np.array([week.leavers]),
            ceo_exits=np.array([week.ceo_exits]),
            leaving=week.leaving,
            removed=week.removed,
            rated_quality=week.rated_quality,
            trust_quality=np.array(self.trust_quality),
            harm=week.harm,
            expected_harm=week.expected_harm,
            new_episodes=np.array([self._new_by_week[-1]]),
            conversions=np.array([self._conversions_by_week[-1]]),
            reproduction_number=np.array([reproduction]),
            agency_share=np.array(
                [
                    sum(
                        share * len(members)
                        for share, members in zip(
                            self.temporary_share, self.trust_posts, strict=True
                        )
                    )
                    / len(self.people)
                ]
            ),
            special_measures=np.array([sum(self.special_measures)]),
            special_measures_entries=np.array([week.special_measures_entries]),
        )

    @property
    def records(self) -> list[dict[str, float]]:
        return self.recorder.records

    def timeseries(self) -> pd.DataFrame:
        """One row per recorded week, with the same columns as CultureModel.timeseries()."""
        return self.recorder.timeseries()

    def episodes(self) -> pd.DataFrame:
        """Every perpetrator episode so far (burn-in included), as CultureModel.episodes()."""
        columns = ["parent", "root", "generation", "post", "person_id", "start_week"]
        table = pd.DataFrame(self.episode_table, columns=columns, dtype=np.int64)
        table["offspring"] = np.asarray(self._offspring, dtype=np.int64)
        table.insert(0, "episode", np.arange(len(table)))
        return table
