"""The week as phases: one function per phase, walked in order by `CultureModel.step`.

All updates are synchronous: phases 2-7 compute every person's next values from the state at
week t (the `Week` holds them between phases) and the adaptation phase commits them together.
`PHASES` is printable (`print(model.phases)`) and each phase can be timed
(`culturesim.engine.week.time_phases`, beside the `Week`, `Phase` and `Loop` it is made of). The
reference engine (culturesim.engine.reference) runs its own per-person implementation of each
phase, in this same order and under these same names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from culturesim.engine import rules
from culturesim.engine.interventions import apply_due
from culturesim.engine.measures import Observed
from culturesim.engine.replicates import (
    Replicate,
    joined,
    parts,
    poisson_per_trust,
    uniform_per_trust,
)
from culturesim.engine.state import BULLYING, COMPASSIONATE, draw_traits, hire, reset_person
from culturesim.engine.threads import threads_for
from culturesim.engine.week import Loop, Phase, Week

if TYPE_CHECKING:
    from culturesim.engine.model import CultureModel


# --- the phases ------------------------------------------------------------------------------


def interventions(model: CultureModel, week: Week) -> None:
    if week.t >= 0 and any(due.week == week.t for due in model.scenario.interventions):
        model.settle_records()  # an intervention may change what last week's measures read
        apply_due(model.scenario.interventions, week.t, model)
    week.drivers = model.drivers_now


def workload(model: CultureModel, week: Week) -> None:
    """Eq. 2a then Eq. 2: temporary staff cover part of each trust's gaps, at a premium that
    comes out of its funding; workload from demand, funding and covered staffing."""
    s, org, p, drivers = model.scenario, model.org, model.people, week.drivers
    temporary = s.temporary_staffing
    week.team_present = org.count_per_team(p.occupied)
    trust_staff = org.count_per_trust(p.occupied)
    week.trust_vacancy = 1 - trust_staff / org.posts_per_trust
    week.temporary_share = rules.temporary_cover(week.trust_vacancy, temporary)
    covered = np.divide(
        week.temporary_share,
        week.trust_vacancy,
        out=np.zeros(org.n_trusts),
        where=week.trust_vacancy > 0,
    )
    week.staffed = rules.covered_staffing(
        week.team_present / np.maximum(org.team_size, 1), org.per_post(covered), temporary
    )
    extra = model.extra_support + s.special_measures.extra_funding * model.special_measures
    week.trust_funding = (
        drivers["funding"]
        * org.trust_funding
        * (1 + extra)
        * (1 - rules.temporary_staffing_cost(week.temporary_share, temporary))
    )
    week.workload = rules.workload(
        drivers["demand"],
        org.per_post(week.trust_funding),
        week.staffed[org.team],
        s.workload.staffing_floor,
    )


def pressure(model: CultureModel, week: Week) -> None:
    s, org, p = model.scenario, model.org, model.people
    week.board = rules.board_pressure(
        week.drivers["regulator_pressure"], model.extra_pressure, model.stance, s.regulator
    )
    week.pressure = rules.felt_pressure(
        org.per_post(week.board), p.pressure, org.manager, p.compassion, p.occupied, s.pressure
    )


def aggression(model: CultureModel, week: Week) -> None:
    p = model.people
    week.aggressed = p.occupied & rules.suffer_aggression(
        model.aggression_exposure(),
        week.drivers["public_aggression"],
        week.drivers["demand"],
        model.scenario.aggression,
        model.uniform("aggression"),
    )


def behaviour(model: CultureModel, week: Week) -> None:
    s, org, p = model.scenario, model.org, model.people
    week.newness = rules.newness(p.tenure_weeks, s.socialisation.newcomer_weeks)
    week.victimised = (week.t - p.bullied_week) <= s.cascades.conversion_window_weeks
    week.persistent = rules.persistently_bullied(p.source_weeks, s.persistence)
    week.hood = rules.neighbourhood(
        org.peers, org.manager, p.occupied, s.socialisation.leader_weight
    )
    bullying_seen, compassion_seen, week.compassion_around = rules.neighbour_mean(
        week.hood, p.bullying_norm, p.compassion_norm, p.compassion
    )
    week.behaviour = rules.choose_behaviour(
        p.strain,
        p.compassion,
        week.persistent,
        p.bullying_norm,
        p.support,
        bullying_seen,
        compassion_seen,
        week.newness,
        org.is_leader,
        s.behaviour,
        model.uniform("behaviour"),
    )
    week.behaviour *= p.occupied  # vacant posts: NEUTRAL (0)


def targets(model: CultureModel, week: Week) -> None:
    s, org, p = model.scenario, model.org, model.people
    bullies = np.flatnonzero(week.behaviour == BULLYING)
    last = p.target_post[bullies]
    still_there = last >= 0
    still_there[still_there] = p.occupied[last[still_there]] & (
        p.person_id[last[still_there]] == p.target_person[bullies[still_there]]
    )
    choose_relation, choose_person, choose_repeat = model.uniform("targets", bullies, times=3)
    victim, relation = rules.pick_targets(
        bullies,
        org.manager,
        org.first_report,
        org.n_reports,
        org.peers,
        s.targets,
        choose_relation,
        choose_person,
        np.where(still_there, last, -1),
        choose_repeat,
    )
    acted = victim >= 0
    acted[acted] = p.occupied[victim[acted]]
    week.bullies, week.victim, week.relation = bullies[acted], victim[acted], relation[acted]
    perpetrator = p.person_id[week.bullies]
    week.source_person, week.source_weeks = rules.count_sources(
        p.source_person, p.source_weeks, week.victim, perpetrator, s.persistence
    )
    persistent_act = (week.source_person[week.victim] == perpetrator) & rules.persistently_bullied(
        week.source_weeks[week.victim], s.persistence
    )
    week.persistent_bullies = week.bullies[persistent_act]
    _keep_acts(model, week, perpetrator, _log_episodes(model, week), persistent_act)


def _keep_acts(
    model: CultureModel,
    week: Week,
    perpetrator: np.ndarray,
    episode: np.ndarray,
    persistent_act: np.ndarray,
) -> None:
    """Each replicate's recorder keeps its acts of the week and its public aggression, posts
    numbered as in its own organisation (the events table's columns)."""
    p = model.people
    public = np.flatnonzero(week.aggressed)
    victim_person, public_person = p.person_id[week.victim], p.person_id[public]
    replicates = model.replicates
    acts, aggressed = parts(replicates, week.bullies), parts(replicates, public)
    bullies, victim = own_posts(replicates, acts, week.bullies, week.victim)
    (public,) = own_posts(replicates, aggressed, public)
    bullies, victim, public = (posts.astype(np.int32) for posts in (bullies, victim, public))
    for replicate, its_acts, its_public in zip(replicates, acts, aggressed, strict=True):
        replicate.recorder.record_acts(
            week.t,
            {
                "perpetrator": bullies[its_acts],
                "victim": victim[its_acts],
                "relation": week.relation[its_acts],
                "perpetrator_person": perpetrator[its_acts],
                "victim_person": victim_person[its_acts],
                "episode": episode[its_acts],
                "persistent": persistent_act[its_acts],
            },
            public[its_public],
            public_person[its_public],
        )


def own_posts(
    replicates: list[Replicate], pieces: list[slice], *posts: np.ndarray
) -> list[np.ndarray]:
    """Posts of the model as numbered in each replicate's own organisation: `pieces` says
    which of them are each replicate's (`replicates.parts`)."""
    if len(replicates) == 1:
        return list(posts)
    first = np.repeat([r.first_post for r in replicates], [p.stop - p.start for p in pieces])
    return [of_model - first for of_model in posts]


def _log_episodes(model: CultureModel, week: Week) -> np.ndarray:
    """Start an episode for each bully who had not bullied in the last W weeks (Eq. 15)."""
    p, bullies, t = model.people, week.bullies, week.t
    window = model.scenario.cascades.conversion_window_weeks
    starting = bullies[(t - p.bullied_others_week[bullies]) > window]
    converted = week.victimised[starting] & (p.bullied_in_episode[starting] >= 0)
    parent = np.where(converted, p.bullied_in_episode[starting], -1)
    person = p.person_id[starting]
    replicates = model.replicates
    pieces = parts(replicates, starting)
    (own,) = own_posts(replicates, pieces, starting)
    p.episode[starting] = joined(
        [
            replicate.episodes_log.start(parent[part], own[part], person[part], t)
            for replicate, part in zip(replicates, pieces, strict=True)
        ]
    )
    return p.episode[bullies]


def _challenged(model: CultureModel, bullies: np.ndarray) -> np.ndarray:
    """Eq. 9b: which of this week's persistent perpetrators are challenged and stop."""
    org, p = model.org, model.people
    manager = org.manager[bullies]
    has_manager = manager >= 0
    has_manager[has_manager] = p.occupied[manager[has_manager]]
    manager_compassion = np.where(has_manager, p.compassion[np.maximum(manager, 0)], 0.5)
    challenged = rules.challenge_persistent_bullying(
        manager_compassion,
        model.stance,
        model.scenario.speaking_up,
        model.uniform("speaking_up", bullies),
    )
    return bullies[challenged]


def adaptation(model: CultureModel, week: Week) -> None:
    model.settle_records()  # last week's measures read what this phase and later ones change
    s, p, t = model.scenario, model.people, week.t
    victim, relation, bullies = week.victim, week.relation, week.bullies
    bullied_now = np.zeros(model.org.n_posts, dtype=bool)
    bullied_now[victim] = True
    kind = week.behaviour == COMPASSIONATE
    support = rules.neighbour_share(week.hood, kind)
    strain = rules.update_strain(
        p.strain,
        week.workload,
        week.pressure,
        bullied_now,
        week.persistent,
        week.aggressed,
        support,
        p.resilience,
        s.strain,
    )
    memory = 1 / s.behaviour.norm_memory_weeks
    bullying_norm = rules.update_norm(p.bullying_norm, week.behaviour == BULLYING, memory)
    compassion_norm = rules.update_norm(p.compassion_norm, kind, memory)
    bullying_norm[_challenged(model, week.persistent_bullies)] = 0.0
    compassion = rules.socialise(
        p.compassion, week.compassion_around, week.newness, p.occupied, s.socialisation
    )

    # commit the week's new state (synchronous update)
    p.pressure, p.support, p.strain, p.behaviour = week.pressure, support, strain, week.behaviour
    p.bullying_norm, p.compassion_norm = bullying_norm, compassion_norm
    p.compassion = compassion
    p.bullied_by_manager_week[victim[relation == rules.MANAGER_TO_REPORT]] = t
    p.bullied_by_colleague_week[victim[relation != rules.MANAGER_TO_REPORT]] = t
    from_source = week.source_person[victim] == p.person_id[bullies]
    chosen = rules.attribute_parent(victim, bullies, from_source, model.org.level)
    p.bullied_in_episode[victim[chosen]] = p.episode[bullies[chosen]]
    p.bullied_others_week[bullies] = t
    p.source_person, p.source_weeks = week.source_person, week.source_weeks
    p.target_post[bullies] = victim
    p.target_person[bullies] = p.person_id[victim]
    p.aggressed_week[week.aggressed] = t


def quality(model: CultureModel, week: Week) -> None:
    s, org, p = model.scenario, model.org, model.people
    week.recently_bullied = (week.t - p.bullied_week) < s.turnover.bullied_memory_weeks
    team_quality = _team_quality(model, week)
    frontline_posts = org.frontline_per_trust
    # other posts add team_quality x 0: nothing, team quality being finite (Eq. 10 clips it)
    staff_quality = org.sum_per_trust(team_quality[org.team], org.is_frontline) / np.maximum(
        frontline_posts, 1
    )
    model.trust_quality = np.minimum(staff_quality * org.trust_care, 1.0)
    week.expected_harm = rules.expected_harm(
        s.quality.harm_rate, week.drivers["demand"], frontline_posts, model.trust_case_mix
    )
    week.harm = poisson_per_trust(
        model.replicates,
        "harm",
        week.expected_harm * rules.harm_excess(model.trust_quality, s.quality),
    )


def _team_quality(model: CultureModel, week: Week) -> np.ndarray:
    """Care quality of each team, indexed by its leader's post (0 for posts that lead none)."""
    p, org = model.people, model.org
    occupied = p.occupied
    leaders = org.leaders
    present = np.maximum(week.team_present[leaders], 1)

    def team_mean(value: np.ndarray) -> np.ndarray:
        return org.sum_per_team(value, occupied)[leaders] / present

    team = np.zeros(org.n_posts)
    team[leaders] = rules.team_quality(
        week.staffed[leaders],
        team_mean(p.strain),
        team_mean(week.recently_bullied),
        team_mean(p.compassion_norm),
        model.scenario.quality,
    )
    return team


def turnover(model: CultureModel, week: Week) -> None:
    s, org, p = model.scenario, model.org, model.people
    chance = rules.leave_probability(
        p.strain,
        rules.persistently_bullied(p.source_weeks, s.persistence),
        week.newness,
        org.level == 0,
        s.turnover,
        org.leaving_shift,
    )
    leaving = np.flatnonzero(p.occupied & (model.uniform("turnover") < chance))
    week.leaving = leaving
    reset_person(p, leaving, s)

    vacant = np.flatnonzero(~p.occupied)
    trust_bullying = org.sum_per_trust(p.bullying_norm, p.occupied) / np.maximum(
        org.count_per_trust(p.occupied), 1
    )
    effort = rules.recruitment_effort(
        week.trust_vacancy, model.special_measures, s.recruitment, s.special_measures
    )
    fill = rules.hiring_probability(
        model.hiring_base_rate(vacant),
        week.trust_funding[org.trust[vacant]],
        trust_bullying[org.trust[vacant]],
        s.turnover,
        effort[org.trust[vacant]],
    )
    hired = vacant[model.uniform("hiring", vacant) < fill]
    just_left = np.zeros(org.n_posts, dtype=bool)
    just_left[leaving] = True
    hired = hired[~just_left[hired]]
    replicates = model.replicates
    runs = [part.stop - part.start for part in parts(replicates, hired)]
    traits = draw_traits(
        s,
        org.level[hired],
        [replicate.streams["hiring"] for replicate in replicates],
        org.compassion_shift(hired),
        runs,
    )
    person_ids = [r.new_person_ids(n) for r, n in zip(replicates, runs, strict=True)]
    hire(p, hired, s, traits, joined(person_ids))


def regulator(model: CultureModel, week: Week) -> None:
    """Every `inspection_weeks`, rate each trust: feedback, chief executives removed, and
    special measures entered or left (Eq. 13, 13a)."""
    s, org, p = model.scenario, model.org, model.people
    model.quality_since_rating += model.trust_quality
    model.weeks_since_rating += 1
    model.special_measures_weeks += model.special_measures
    if model.weeks_since_rating != s.regulator.inspection_weeks:
        return
    rated_quality = model.quality_since_rating / model.weeks_since_rating
    model.inadequate_ratings, entering, exiting = rules.special_measures_review(
        rated_quality < s.regulator.inadequate_quality,
        model.inadequate_ratings,
        model.special_measures,
        model.special_measures_weeks,
        s.special_measures,
    )
    model.extra_pressure, model.extra_support, removal = rules.regulator_feedback(
        rated_quality,
        model.extra_pressure,
        model.extra_support,
        model.stance,
        s.regulator,
        model.special_measures | entering,
        s.special_measures.pressure_relief,
    )
    model.rated_quality = week.rated_quality = rated_quality
    model.quality_since_rating[:] = 0
    model.weeks_since_rating = 0
    ceos = org.trust_start[:-1]
    removal_draw = uniform_per_trust(model.replicates, "regulator")
    removed = ceos[p.occupied[ceos] & (removal_draw < removal)]
    reset_person(p, removed, s)
    replacing = entering & (
        uniform_per_trust(model.replicates, "regulator")
        < s.special_measures.ceo_replacement_probability
    )
    replaced = ceos[replacing & p.occupied[ceos]]
    reset_person(p, replaced, s)
    week.removed = np.sort(np.concatenate([removed, replaced]))
    week.entering = entering
    model.special_measures = (model.special_measures | entering) & ~exiting
    model.special_measures_weeks[entering | exiting] = 0


def record(model: CultureModel, week: Week) -> None:
    p = model.people
    p.tenure_weeks += p.occupied
    if week.t >= 0:
        alongside = model.records_alongside and threads_for(model.org.n_posts) > 1
        model.recording.record_week(observe(model, week), alongside=alongside)


def observe(model: CultureModel, week: Week) -> Observed:
    """What the measures read from the vectorised engine's week, for every replicate at once
    (culturesim.engine.measures): the model's arrays, where each replicate lies in them, and
    what the week counted for each."""
    org, replicates = model.org, model.replicates
    runs = model.runs
    removed = week.removed if week.removed is not None else np.zeros(0, dtype=np.int64)
    ceo_exits = runs.per_post_count(week.leaving[org.level[week.leaving] == 0])
    return Observed(
        t=week.t,
        scenario=model.scenario,
        org=org,
        people=model.people,
        runs=runs,
        drivers=week.drivers,
        board=week.board,
        workload=week.workload,
        bullies=week.bullies,
        victim=week.victim,
        relation=week.relation,
        leavers=runs.per_post_count(week.leaving),
        ceo_exits=ceo_exits + runs.per_post_count(removed),
        leaving=week.leaving,
        removed=week.removed,
        rated_quality=week.rated_quality,
        trust_quality=model.trust_quality,
        harm=week.harm,
        expected_harm=week.expected_harm,
        new_episodes=np.array([r.episodes_log.new_this_week for r in replicates]),
        conversions=np.array([r.episodes_log.conversions_this_week for r in replicates]),
        reproduction_number=np.array([r.episodes_log.reproduction_number() for r in replicates]),
        agency_share=runs.per_trust_dot(week.temporary_share, org.posts_per_trust)
        / runs.posts_each,
        special_measures=runs.per_trust_sum(model.special_measures),
        special_measures_entries=(
            np.zeros(len(replicates), dtype=np.int64)
            if week.entering is None
            else runs.per_trust_sum(week.entering)
        ),
    )


PHASES = Loop(
    (
        Phase("interventions", "", "interventions due take effect; drivers read", interventions),
        Phase(
            "workload",
            "Eq. 2a, 2",
            "temporary cover; workload from demand, funding, staffing",
            workload,
        ),
        Phase("pressure", "Eq. 14, 3", "board pressure, passed down the hierarchy", pressure),
        Phase("aggression", "Eq. 4", "patient and public aggression", aggression),
        Phase("behaviour", "Eq. 1, 6, 7", "bullying, compassionate or neutral", behaviour),
        Phase("targets", "Eq. 8, 15", "bullies pick victims; episodes logged", targets),
        Phase(
            "adaptation",
            "Eq. 1, 5, 9, 9b",
            "support, strain, norms, challenges to persistent bullying, dispositions",
            adaptation,
        ),
        Phase("quality", "Eq. 10", "team and trust care quality, harm", quality),
        Phase("turnover", "Eq. 11, 12, 12a", "leavers go, vacancies are filled", turnover),
        Phase(
            "regulator",
            "Eq. 13, 13a",
            "every inspection_weeks, trusts rated; special measures",
            regulator,
        ),
        Phase("record", "", "tenure grows; the week's measures are recorded", record),
    )
)
"""The phases of a week, in order (docs/ODD.md section 3)."""
