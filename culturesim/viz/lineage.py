"""A person's cascade lineage: who bullied them, whom they bullied, and the chain of
bullied-become-bullies their own bullying descends from.

Read from the model's public record only: `events()` (every act, with perpetrator and victim
posts and people) and `episodes()` (every perpetrator episode with its parent episode, the
episode that bullied its perpetrator within the conversion window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from culturesim.viz.session import VizModel

RELATION_WORDS = {0: "their manager", 1: "a colleague", 2: "a report"}
"""How a perpetrator stood to their victim (the `relation` code of `events()`)."""


@dataclass(frozen=True)
class Lineage:
    """One person's place in the cascades, as posts (where the people are now)."""

    post: int
    person: int
    bullied_by: pd.DataFrame  # week, perpetrator (post), relation: acts against this person
    bullied: pd.DataFrame  # week, victim (post), relation: acts by this person
    ancestry: list[int]  # posts up the chain of episodes, parent first, the root last
    converted: list[int]  # posts whose episodes this person's bullying started

    @property
    def posts(self) -> np.ndarray:
        """Every post in the lineage other than the person's own."""
        linked = [
            *self.bullied_by["perpetrator"].tolist(),
            *self.bullied["victim"].tolist(),
            *self.ancestry,
            *self.converted,
        ]
        return np.unique(np.array([p for p in linked if p != self.post], dtype=np.int64))

    def describe(self, level_names, level: np.ndarray) -> list[str]:
        """The lineage in words, a line each."""

        def who(post: int) -> str:
            return f"post {post} ({level_names[level[post]].replace('_', ' ')})"

        def acts_line(acts: pd.DataFrame, column: str) -> str:
            counts = acts.groupby(column).size().sort_values(ascending=False)
            shown = [f"{who(int(p))} ×{n}" for p, n in counts.head(6).items()]
            more = f" and {len(counts) - 6} more" if len(counts) > 6 else ""
            return ", ".join(shown) + more

        lines = [f"person {self.person} in {who(self.post)}"]
        if len(self.bullied_by):
            lines.append(f"bullied by: {acts_line(self.bullied_by, 'perpetrator')}")
        else:
            lines.append("bullied by: nobody in the recorded weeks")
        if len(self.bullied):
            lines.append(f"bullied: {acts_line(self.bullied, 'victim')}")
        else:
            lines.append("bullied: nobody in the recorded weeks")
        if self.ancestry:
            chain = " ← ".join(who(p) for p in self.ancestry)
            lines.append(f"their bullying descends from: {chain}")
        if self.converted:
            lines.append(
                "their bullying turned into bullying by: "
                + ", ".join(who(p) for p in self.converted[:6])
                + (f" and {len(self.converted) - 6} more" if len(self.converted) > 6 else "")
            )
        return lines


def lineage(model: VizModel, post: int) -> Lineage:
    """The lineage of whoever holds `post` now."""
    person = int(model.people.person_id[post])
    acts = model.staff_acts()
    bullied_by = acts.loc[acts["victim_person"] == person, ["week", "perpetrator", "relation"]]
    bullied = acts.loc[acts["perpetrator_person"] == person, ["week", "victim", "relation"]]
    episodes = model.episodes()
    own = episodes[episodes["person_id"] == person]
    parent_of = dict(zip(episodes["episode"], episodes["parent"], strict=True))
    post_of = dict(zip(episodes["episode"], episodes["post"], strict=True))
    ancestry: list[int] = []
    if len(own):
        episode = int(parent_of[int(own["episode"].iloc[-1])])
        while episode >= 0 and episode in post_of and len(ancestry) < 50:
            ancestry.append(int(post_of[episode]))
            episode = int(parent_of[episode])
    children = episodes[episodes["parent"].isin(own["episode"])]
    return Lineage(
        post,
        person,
        bullied_by.reset_index(drop=True),
        bullied.reset_index(drop=True),
        ancestry,
        children["post"].astype(int).tolist(),
    )


def person_label(model: VizModel, post: int) -> str:
    """How the person picker names whoever holds `post`: their post, role, and acts."""
    acts = model.staff_acts()
    person = model.people.person_id[post]
    committed = int((acts["perpetrator_person"] == person).sum())
    suffered = int((acts["victim_person"] == person).sum())
    return label(model, post, committed, suffered)


def label(model: VizModel, post: int, committed: int, suffered: int) -> str:
    role = model.org.level_names[model.org.level[post]].replace("_", " ")
    return f"post {post} ({role}): bullied others {committed}×, bullied {suffered}×"


def involved_people(model: VizModel, posts: np.ndarray, limit: int = 40) -> list[tuple[int, str]]:
    """The posts among `posts` whose holders bullied or were bullied most, with a label each:
    the people worth choosing to see a lineage."""
    acts = model.staff_acts()
    person_id = model.people.person_id
    inside = posts[model.people.occupied[posts]]
    holders = pd.Series(inside, index=person_id[inside])
    suffered = acts["victim_person"].value_counts()
    committed = acts["perpetrator_person"].value_counts()
    table = pd.DataFrame(
        {
            "post": holders,
            "suffered": suffered.reindex(holders.index, fill_value=0),
            "committed": committed.reindex(holders.index, fill_value=0),
        }
    )
    table = table[(table.suffered + table.committed) > 0]
    table = table.sort_values(["committed", "suffered", "post"], ascending=[False, False, True])
    return [
        (int(row.post), label(model, int(row.post), int(row.committed), int(row.suffered)))
        for row in table.head(limit).itertuples()
    ]
