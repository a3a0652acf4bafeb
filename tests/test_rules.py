"""Each rule of docs/ODD.md section 7 on a handful of people, checked against the equation by hand.

Numbers in comments are the ODD equation worked through; parameters are set explicitly where the
arithmetic is easier to follow than with the calibrated defaults. Directional tests use the
defaults and random states at a fixed seed: the mechanism must push the way the ODD says for every
person, not just on average.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from culturesim.engine import rules
from culturesim.engine.scenario import (
    Aggression,
    Behaviour,
    Persistence,
    Pressure,
    Quality,
    Regulator,
    Socialisation,
    SpeakingUp,
    Strain,
    Targets,
    Turnover,
)
from culturesim.engine.state import BULLYING, COMPASSIONATE, NEUTRAL

LN3 = math.log(3)  # logistic(ln 3) = 0.75, logistic(-ln 3) = 0.25


def ties(n: int, pairs: list[tuple[int, int]]) -> sp.csr_matrix:
    """Symmetric colleague ties between these pairs of posts."""
    rows = [a for a, b in pairs] + [b for a, b in pairs]
    cols = [b for a, b in pairs] + [a for a, b in pairs]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def test_logistic_hits_its_landmarks():
    assert rules.logistic(np.array([0.0, LN3, -LN3])) == pytest.approx([0.5, 0.75, 0.25])


# --- Eq. 1: what a person sees around them ----------------------------------------------------

# Post 0 leads posts 1, 2 and 3; colleague ties 1-2 and 1-3.
TEAM_MANAGER = np.array([-1, 0, 0, 0])
TEAM_PEERS = ties(4, [(1, 2), (1, 3)])
X = np.array([0.8, 0.2, 0.4, 0.6])


def seen(occupied: list[bool], leader_weight: float = 0.5, *quantities: np.ndarray) -> list:
    hood = rules.neighbourhood(TEAM_PEERS, TEAM_MANAGER, np.array(occupied), leader_weight)
    return rules.neighbour_mean(hood, *(quantities or (X,)))


def test_neighbour_mean_weighs_colleagues_mean_and_manager():
    (view,) = seen([True] * 4)
    # 0: nobody around, sees itself; 1: 0.5 x mean(0.4, 0.6) + 0.5 x 0.8;
    # 2 and 3: 0.5 x 0.2 + 0.5 x 0.8.
    assert view == pytest.approx([0.8, 0.65, 0.5, 0.5])


def test_neighbour_mean_leaves_out_vacant_posts_and_renormalises():
    (view,) = seen([True, True, False, True])
    assert view[1] == pytest.approx(0.5 * 0.6 + 0.5 * 0.8)  # post 2 not counted
    (view,) = seen([False, True, True, True])
    assert view[1:] == pytest.approx([0.5, 0.2, 0.2])  # no manager in post: colleagues only


def test_neighbour_mean_with_full_leader_weight_is_the_managers_value():
    (view,) = seen([True] * 4, 1.0)
    assert view == pytest.approx([0.8, 0.8, 0.8, 0.8])
    (view,) = seen([True] * 4, 0.0)
    assert view == pytest.approx([0.8, 0.5, 0.2, 0.2])


def test_neighbour_mean_of_several_quantities_equals_one_at_a_time():
    y = np.array([0.1, 0.9, 0.3, 0.5])
    together = seen([True, True, False, True], 0.3, X, y)
    apart = [seen([True, True, False, True], 0.3, q)[0] for q in (X, y)]
    assert np.array_equal(together, apart)


@pytest.mark.parametrize("threads", [1, 2])
def test_neighbour_share_of_a_yes_no_quantity_is_its_mean_bit_for_bit(threads, monkeypatch):
    from culturesim.engine import neighbours
    from culturesim.engine import threads as week_threads
    from culturesim.engine.model import CultureModel

    monkeypatch.setattr(week_threads, "PARALLEL_FROM", 0)
    monkeypatch.setattr(neighbours, "BYTE_PASS_FROM", 0)  # the byte pass, as a large model's
    org = CultureModel("baseline", seed=5, burn_in=False).org
    rng = np.random.default_rng(8)
    for leader_weight in (0.0, 0.3, 1.0):
        occupied = rng.random(org.n_posts) > 0.3
        marked = rng.random(org.n_posts) < 0.4  # vacant posts too: they count for nobody
        hood = rules.neighbourhood(org.peers, org.manager, occupied, leader_weight)
        with week_threads.week_threads(threads):
            share = rules.neighbour_share(hood, marked)
            (mean,) = rules.neighbour_mean(hood, marked.astype(float))
        assert share.tobytes() == mean.tobytes()
        assert 0 < share.mean() < 1


# --- Eq. 2: workload -------------------------------------------------------------------------


def test_workload_is_demand_over_funding_times_staffing_with_a_floor():
    load = rules.workload(1.2, np.array([1.0, 1.5, 0.5]), np.array([0.8, 1.0, 0.1]))
    # 1.2 / 0.8; 1.2 / 1.5; 1.2 / (0.5 x max(0.1, 0.2))
    assert load == pytest.approx([1.5, 0.8, 12.0])


def test_workload_rises_with_demand_and_vacancies():
    staffed = np.linspace(0.0, 1.0, 21)
    funding = np.ones(21)
    assert np.all(rules.workload(1.3, funding, staffed) > rules.workload(1.0, funding, staffed))
    assert np.all(np.diff(rules.workload(1.0, funding, staffed)) <= 0)


# --- Eq. 3 and 14: pressure from above -------------------------------------------------------

CHAIN = np.array([-1, 0, 1])  # chief executive, a director, a manager


def test_pressure_is_passed_down_a_week_late_and_buffered_by_compassion():
    felt = rules.felt_pressure(
        board_pressure=np.full(3, 2.0),
        last_pressure=np.array([1.0, 0.5, 0.3]),
        manager=CHAIN,
        compassion=np.array([0.4, 0.6, 0.9]),
        occupied=np.ones(3, dtype=bool),
        p=Pressure(transmission=0.9, leader_buffering=0.5),
    )
    # 0: the board's; 1: 0.9 x 1.0 x (1 - 0.5 x 0.4); 2: 0.9 x 0.5 x (1 - 0.5 x 0.6)
    assert felt == pytest.approx([2.0, 0.72, 0.315])


def test_an_empty_managers_post_buffers_nothing():
    felt = rules.felt_pressure(
        np.full(3, 2.0),
        np.array([1.0, 0.5, 0.3]),
        CHAIN,
        np.array([0.4, 0.6, 0.9]),
        np.array([True, False, True]),
        Pressure(transmission=0.9, leader_buffering=0.5),
    )
    assert felt[2] == pytest.approx(0.9 * 0.5)


def test_more_compassionate_managers_pass_down_less_pressure():
    rng = np.random.default_rng(1)
    manager = np.array([-1, 0, 0, 1, 1, 2, 2])
    args = (np.full(7, 1.0), rng.random(7), manager)
    compassion = rng.random(7)
    kinder = rules.felt_pressure(*args, compassion + 0.1, np.ones(7, bool), Pressure())
    harsher = rules.felt_pressure(*args, compassion, np.ones(7, bool), Pressure())
    assert np.all(kinder[1:] < harsher[1:])
    assert kinder[0] == harsher[0]


def test_board_pressure_is_targets_plus_feedback_softened_by_stance():
    board = rules.board_pressure(0.5, np.array([0.0, 0.3]), 0.6, Regulator(stance_buffering=0.5))
    assert board == pytest.approx([0.5 * 0.7, 0.8 * 0.7])  # factor 1 - 0.5 x 0.6


def test_a_more_supportive_stance_never_raises_board_pressure():
    extra = np.linspace(0, 1, 5)
    stances = np.linspace(0, 1, 11)
    boards = np.array([rules.board_pressure(1.0, extra, s, Regulator()) for s in stances])
    assert np.all(np.diff(boards, axis=0) <= 0)


# --- Eq. 4: aggression -----------------------------------------------------------------------


def test_aggression_is_a_poisson_event_at_rate_times_aggression_times_demand():
    exposure = np.array([1.0, 0.2])
    a = Aggression(weekly_rate=0.1)
    chance = np.array([1 - math.exp(-0.3), 1 - math.exp(-0.06)])  # 0.1 x 2 x 1.5 x exposure
    assert chance == pytest.approx([0.2592, 0.0582], abs=1e-4)
    below = rules.suffer_aggression(exposure, 2.0, 1.5, a, chance - 1e-9)
    above = rules.suffer_aggression(exposure, 2.0, 1.5, a, chance + 1e-9)
    assert below.tolist() == [True, True]
    assert above.tolist() == [False, False]
    assert not rules.suffer_aggression(exposure, 0.0, 1.5, a, np.zeros(2)).any()


# --- Eq. 5: strain ---------------------------------------------------------------------------

ONES = Strain(
    baseline_logit=0,
    workload_weight=1,
    pressure_weight=1,
    bullied_weight=1,
    persistent_weight=1,
    aggression_weight=1,
    support_weight=1,
    resilience_weight=1,
    time_constant_weeks=4,
)


def strain_after(
    strain=0.1,
    workload=1.5,
    pressure=0.5,
    bullied=1,
    persistent=0,
    aggressed=0,
    support=1.0,
    resilience=0.5,
    s=ONES,
):
    """Eq. 5 for one person (the defaults) or several."""

    def column(value):
        return np.atleast_1d(np.asarray(value, dtype=float))

    return rules.update_strain(
        column(strain),
        column(workload),
        column(pressure),
        column(bullied),
        column(persistent),
        column(aggressed),
        column(support),
        column(resilience),
        s,
    )


def test_strain_closes_a_quarter_of_the_gap_to_its_target():
    # target = logistic(0 + 0.5 + 0.5 + 1 + 0 - 1 - 0) = logistic(1) = 0.7311;
    # strain = 0.1 + (0.7311 - 0.1) / 4
    assert strain_after()[0] == pytest.approx(0.1 + (1 / (1 + math.exp(-1)) - 0.1) / 4)
    assert strain_after()[0] == pytest.approx(0.25776, abs=1e-5)


def test_persistent_bullying_adds_a_chronic_rise_on_top_of_the_weeks_act():
    # acute act and persistent: target = logistic(2) = 0.8808; strain = 0.1 + 0.7808 / 4
    assert strain_after(persistent=1)[0] == pytest.approx(0.29520, abs=1e-5)
    # persistent in a week without an act: logistic(1) again, as with an act alone
    assert strain_after(bullied=0, persistent=1)[0] == pytest.approx(strain_after()[0])


def test_resting_strain_is_a_fixed_point_at_defaults():
    resting = 1 / (1 + math.exp(-Strain().baseline_logit))
    after = strain_after(resting, 1.0, 0.0, 0, 0, 0, 0.0, 0.5, Strain())
    assert after[0] == pytest.approx(resting)


def test_strain_stays_between_0_and_1_whatever_the_load():
    rng = np.random.default_rng(2)
    n = 1000
    strain = strain_after(
        rng.random(n), 20 * rng.random(n), 5 * rng.random(n), rng.integers(0, 2, n),
        rng.integers(0, 2, n), rng.integers(0, 2, n), rng.random(n), rng.random(n),
        Strain(time_constant_weeks=1),
    )  # fmt: skip
    assert np.all((strain >= 0) & (strain <= 1))


STRAIN_INPUTS = (
    "strain", "workload", "pressure", "bullied", "persistent", "aggressed", "support", "resilience"
)  # fmt: skip
EVENTS = ("bullied", "persistent", "aggressed")


@pytest.mark.parametrize(
    "name, direction",
    [("workload", 1), ("pressure", 1), ("bullied", 1), ("persistent", 1), ("aggressed", 1),
     ("support", -1), ("resilience", -1)],
)  # fmt: skip
def test_each_load_raises_strain_and_each_buffer_lowers_it(name, direction):
    rng = np.random.default_rng(3)
    n = 500
    state = dict(zip(STRAIN_INPUTS, rng.random((len(STRAIN_INPUTS), n)), strict=True))
    state["workload"] *= 2
    state.update({event: np.zeros(n) for event in EVENTS})
    more = {**state, name: state[name] + (1 if name in EVENTS else 0.2)}
    change = strain_after(**more, s=Strain()) - strain_after(**state, s=Strain())
    assert np.all(direction * change > 0)


# --- Eq. 6-7: behaviour ----------------------------------------------------------------------

# p_bully = logistic(-ln 3) = 0.25 and p_kind = logistic(0) = 0.5 for a neutral person, so
# u < 0.25 bullies, 0.25 <= u < 0.25 + 0.75 x 0.5 = 0.625 acts kindly, the rest neutrally.
PLAIN = Behaviour(
    bullying_baseline_logit=-LN3,
    leader_logit_offset=LN3,
    strain_weight=0,
    victimisation_weight=0,
    habit_weight=0,
    norm_weight=LN3,
    compassion_weight=0,
    support_weight=0,
    compassion_baseline_logit=0,
    compassion_disposition_weight=0,
    compassion_strain_weight=0,
    compassion_norm_weight=0,
    newcomer_norm_boost=1,
)


def behave(uniform, b=PLAIN, **state) -> np.ndarray:
    n = len(uniform)
    person = {
        "strain": np.zeros(n),
        "compassion": np.full(n, 0.5),
        "persistent": np.zeros(n),
        "own_bullying": np.zeros(n),
        "support": np.zeros(n),
        "bullying_seen": np.zeros(n),
        "compassion_seen": np.full(n, 0.5),
        "newness": np.zeros(n),
        "is_leader": np.zeros(n),
    }
    person.update({key: np.broadcast_to(value, n).astype(float) for key, value in state.items()})
    return rules.choose_behaviour(**person, b=b, uniform=np.asarray(uniform, dtype=float))


def test_one_draw_chooses_bullying_then_compassion_then_neutral():
    chosen = behave([0.0, 0.2499, 0.2501, 0.6249, 0.6251, 0.999])
    assert chosen.tolist() == [BULLYING, BULLYING, COMPASSIONATE, COMPASSIONATE, NEUTRAL, NEUTRAL]


def test_leaders_bully_more():
    # logistic(-ln 3 + ln 3) = 0.5
    assert behave([0.49, 0.51], is_leader=1).tolist() == [BULLYING, COMPASSIONATE]


def test_victimisation_acts_through_persistent_bullying_and_habit_through_own_bullying():
    plain = PLAIN.model_copy(update={"victimisation_weight": LN3, "habit_weight": 2 * LN3})
    # persistently bullied: logistic(-ln 3 + ln 3) = 0.5
    assert behave([0.49, 0.51], plain, persistent=1).tolist() == [BULLYING, COMPASSIONATE]
    # bullied in half of one's recent weeks: logistic(-ln 3 + 2 ln 3 x 0.5) = 0.5
    assert behave([0.49, 0.51], plain, own_bullying=0.5).tolist() == [BULLYING, COMPASSIONATE]
    # neither: logistic(-ln 3) = 0.25
    assert behave([0.24, 0.26], plain).tolist() == [BULLYING, COMPASSIONATE]


def test_newcomers_learn_the_local_bullying_norm_twice_as_fast():
    # norm term ln 3 x (1 + 1 x newness) x 0.5: ln 3 for a newcomer, so p_bully = 0.5
    assert behave([0.49, 0.51], bullying_seen=0.5, newness=1).tolist() == [BULLYING, COMPASSIONATE]
    # half as much for an old hand: p_bully = logistic(-ln 3 / 2) = 1 / (1 + sqrt 3) = 0.366
    assert behave([0.36, 0.37], bullying_seen=0.5).tolist() == [BULLYING, COMPASSIONATE]


@pytest.mark.parametrize(
    "name, step, direction",
    [("strain", 0.2, 1), ("persistent", 1, 1), ("own_bullying", 0.2, 1),
     ("bullying_seen", 0.2, 1), ("is_leader", 1, 1), ("compassion", 0.2, -1),
     ("support", 0.2, -1)],
)  # fmt: skip
def test_each_driver_of_bullying_pushes_its_way_for_everyone(name, step, direction):
    n = 2000
    rng = np.random.default_rng(4)
    state = {
        "strain": rng.random(n),
        "compassion": rng.random(n),
        "support": rng.random(n),
        "bullying_seen": rng.random(n),
        "compassion_seen": rng.random(n),
        "newness": rng.random(n),
        "own_bullying": 0.5 * rng.random(n),
    }
    uniform = rng.random(n)
    before = behave(uniform, Behaviour(), **state) == BULLYING
    after = behave(uniform, Behaviour(), **{**state, name: state.get(name, 0) + step}) == BULLYING
    more, fewer = (after, before) if direction > 0 else (before, after)
    assert np.all(more >= fewer)  # same draws: a push one way never turns a bully the other
    assert more.sum() > fewer.sum()


def test_strain_makes_compassion_rarer():
    n = 2000
    rng = np.random.default_rng(5)
    uniform = rng.random(n)
    calm = behave(uniform, Behaviour(), strain=0.1)
    strained = behave(uniform, Behaviour(), strain=0.6)
    assert (strained == COMPASSIONATE).sum() < (calm == COMPASSIONATE).sum()


# --- Eq. 8: choice of victim -----------------------------------------------------------------

# Post 0 leads 1 and 2; post 1 leads 3 and 4; colleague ties 1-2 and 3-4. Post 5 stands alone.
VICTIM_ORG = {
    "manager": np.array([-1, 0, 0, 1, 1, -1]),
    "first_report": np.array([1, 3, -1, -1, -1, -1]),
    "n_reports": np.array([2, 2, 0, 0, 0, 0]),
    "peers": ties(6, [(1, 2), (3, 4)]),
}
WEIGHTS = Targets(
    downward_weight=0.6, sideways_weight=0.3, upward_weight=0.1, repeat_probability=0.8
)


def pick(bullies, uniform_relation, uniform_person, t=WEIGHTS, last_target=-1, uniform_repeat=1):
    """Eq. 8 for these bullies; by default nobody has a last target still in post."""
    bullies = np.asarray(bullies)

    def column(value, dtype=float):
        return np.broadcast_to(value, len(bullies)).astype(dtype)

    return rules.pick_targets(
        bullies,
        **VICTIM_ORG,
        t=t,
        uniform_relation=column(uniform_relation),
        uniform_person=column(uniform_person),
        last_target=column(last_target, np.int64),
        uniform_repeat=column(uniform_repeat),
    )


def test_a_bully_with_every_relation_picks_them_in_proportion_to_their_weights():
    n = 1000
    evenly = (np.arange(n) + 0.5) / n
    _, relation = pick(np.full(n, 1), evenly, 0.5)
    shares = np.bincount(relation, minlength=3) / n
    assert shares == pytest.approx([0.6, 0.3, 0.1])


def test_victims_are_a_report_a_colleague_or_the_manager():
    # Bully 1 with cumulative weights 0.6, 0.9, 1.0; person draw 0.75 picks the second of two.
    victim, relation = pick([1, 1, 1], [0.1, 0.7, 0.95], 0.75)
    assert relation.tolist() == [rules.MANAGER_TO_REPORT, rules.COLLEAGUE, rules.REPORT_TO_MANAGER]
    assert victim.tolist() == [4, 2, 0]


def test_a_missing_relation_gets_no_weight():
    # Post 0 has only reports; post 3 only a colleague and a manager (weights 0.3 : 0.1).
    victim, relation = pick([0, 0, 3, 3], [0.99, 0.99, 0.74, 0.76], [0.0, 0.99, 0.5, 0.5])
    assert relation.tolist() == [rules.MANAGER_TO_REPORT] * 2 + [
        rules.COLLEAGUE,
        rules.REPORT_TO_MANAGER,
    ]
    assert victim.tolist() == [1, 2, 4, 1]


def test_a_bully_with_nobody_around_picks_nobody():
    victim, relation = pick([5], 0.5, 0.5)
    assert victim.tolist() == [-1] and relation.tolist() == [-1]


def test_a_bully_picks_the_last_target_again_with_the_repeat_probability():
    # Bully 1's fresh pick with these draws is report 3 (relation draw 0.1, person draw 0.0).
    # Last targets 0 (the manager), 2 (a colleague), 4 (a report) are picked again when the
    # repeat draw is below 0.8, with the relation of bully to that person.
    victim, relation = pick([1, 1, 1], 0.1, 0.0, last_target=[0, 2, 4], uniform_repeat=0.79)
    assert victim.tolist() == [0, 2, 4]
    assert relation.tolist() == [rules.REPORT_TO_MANAGER, rules.COLLEAGUE, rules.MANAGER_TO_REPORT]
    # a repeat draw at 0.8 or above, or a last target no longer in post (-1): a fresh pick
    victim, relation = pick([1, 1], 0.1, 0.0, last_target=[0, -1], uniform_repeat=[0.8, 0.0])
    assert victim.tolist() == [3, 3]
    assert relation.tolist() == [rules.MANAGER_TO_REPORT] * 2


# --- Eq. 16: negative acts and persistent bullying (more cases in tests/test_constructs.py) ---


def test_the_look_back_keeps_only_window_weeks_and_a_source_with_none_left_is_replaced():
    short = Persistence(window_weeks=4, min_weeks=2)
    # person 0's only act from source 7 was 3 weeks ago: it slides out of a 4-week window
    person, weeks = rules.count_sources(
        np.array([7, 7]), np.array([0b1000, 0b0011], dtype=np.uint32),
        np.array([0, 1]), np.array([9, 9]), short,
    )  # fmt: skip
    # person 1 still has two weeks from 7 in the window: 9's act does not count
    assert person.tolist() == [9, 7]
    assert weeks.tolist() == [0b0001, 0b0110]
    assert rules.persistently_bullied(weeks, short).tolist() == [False, True]


def test_nobody_is_persistently_bullied_when_min_weeks_exceeds_the_window():
    every_week = np.array([0b1111], dtype=np.uint32)
    assert rules.persistently_bullied(every_week, Persistence(window_weeks=4, min_weeks=4))[0]
    assert not rules.persistently_bullied(every_week, Persistence(window_weeks=4, min_weeks=5))[0]


def test_persistent_perpetrators_are_the_counted_sources_of_persistent_victims():
    person_id = np.array([10, 11, 12, 13])
    source = np.array([11, 13, 10, -1])  # 10's counted source is 11, 11's is 13, 12's is 10
    persistent = np.array([True, False, True, False])
    # sources of persistent victims: 11 and 10; 13 bullies 11 only occasionally
    assert rules.persistent_perpetrators(person_id, source, persistent).tolist() == [
        True, True, False, False,
    ]  # fmt: skip


# --- Eq. 9: socialisation --------------------------------------------------------------------


def test_a_persistent_perpetrator_is_challenged_with_the_logistic_of_stance_and_manager():
    s = SpeakingUp(challenge_logit=-LN3, stance_weight=2.0, manager_compassion_weight=4.0)
    # neutral stance, average manager: logistic(-ln 3) = 0.25
    below = np.array([0.2499, 0.2501])
    assert rules.challenge_persistent_bullying(np.full(2, 0.5), 0.5, s, below).tolist() == [
        True,
        False,
    ]
    # supportive stance +2 x 0.5 and a manager of 0.75, +4 x 0.25: logit -ln 3 + 2 = 0.901
    chance = 1 / (1 + math.exp(-(-LN3 + 2.0)))
    at = np.array([chance - 1e-6, chance + 1e-6])
    assert rules.challenge_persistent_bullying(np.full(2, 0.75), 1.0, s, at).tolist() == [
        True,
        False,
    ]


def test_a_supportive_stance_and_a_compassionate_manager_challenge_more_often():
    s = SpeakingUp()
    uniform = np.random.default_rng(5).random(20_000)
    base = rules.challenge_persistent_bullying(np.full(20_000, 0.5), 0.5, s, uniform).mean()
    supportive = rules.challenge_persistent_bullying(np.full(20_000, 0.5), 1.0, s, uniform)
    punitive = rules.challenge_persistent_bullying(np.full(20_000, 0.5), 0.0, s, uniform)
    kind = rules.challenge_persistent_bullying(np.full(20_000, 0.8), 0.5, s, uniform)
    assert punitive.mean() < base < supportive.mean()
    assert base < kind.mean()


def test_disposition_moves_the_pulled_share_of_the_way_to_what_is_seen():
    # pull = rate + newcomer_rate x newness: 0.1, 0.5 and 0.1; a vacant post keeps its value
    moved = rules.socialise(
        np.full(4, 0.4), np.array([0.9, 0.9, 0.2, 0.9]), np.array([0.0, 1.0, 0.0, 1.0]),
        np.array([True, True, True, False]), Socialisation(rate=0.1, newcomer_rate=0.4),
    )  # fmt: skip
    assert moved == pytest.approx([0.45, 0.65, 0.38, 0.4])


# --- Eq. 10: care quality --------------------------------------------------------------------


def test_team_quality_multiplies_staffing_strain_rudeness_and_compassion():
    q = Quality(
        staffing_exponent=1, strain_penalty=0.4, rudeness_penalty=0.15, compassion_gain=0.15
    )
    quality = rules.team_quality(
        np.array([0.8, 1.0]), np.array([0.25, 0.0]), np.array([0.2, 0.0]), np.array([0.7, 1.0]), q
    )
    # 0.8 x (1 - 0.1) x (1 - 0.03) x (1 + 0.03); the second, 1.075, is capped at 1
    assert quality == pytest.approx([0.719352, 1.0])


# --- Eq. 10b: harm ---------------------------------------------------------------------------


def test_expected_harm_is_rate_times_demand_times_frontline_posts_times_case_mix():
    harm = rules.expected_harm(0.01, 1.2, np.array([100, 300]), np.array([1.0, 0.8]))
    assert harm == pytest.approx([1.2, 2.88])  # 0.01 x 1.2 x 100 x 1; 0.01 x 1.2 x 300 x 0.8


def test_harm_excess_is_one_at_the_reference_and_k_per_unit_of_quality_below_it():
    q = Quality(reference_quality=0.75, harm_excess_weight=2)
    # 1 + 2 x 0; 1 + 2 x 0.15; 1 - 2 x 0.15
    assert rules.harm_excess(np.array([0.75, 0.6, 0.9]), q) == pytest.approx([1.0, 1.3, 0.7])
    steep = Quality(reference_quality=0.75, harm_excess_weight=5)
    assert rules.harm_excess(np.array([1.0]), steep) == pytest.approx([0.0])  # 1 - 1.25 < 0


def test_harm_excess_never_falls_as_quality_falls():
    quality = np.linspace(0, 1, 101)
    assert np.all(np.diff(rules.harm_excess(quality, Quality())) <= 0)


def test_strain_rudeness_and_vacancies_lower_care_quality():
    rng = np.random.default_rng(6)
    team = dict(zip(("staffed", "strain", "bullied", "climate"), 0.8 * rng.random((4, 300)),
                    strict=True))  # fmt: skip

    def quality(staffed, strain, bullied, climate):
        return rules.team_quality(staffed, strain, bullied, climate, Quality())

    base = quality(**team)
    assert np.all(quality(**{**team, "strain": team["strain"] + 0.1}) < base)
    assert np.all(quality(**{**team, "bullied": team["bullied"] + 0.1}) < base)
    assert np.all(quality(**{**team, "staffed": team["staffed"] + 0.1}) > base)
    assert np.all(quality(**{**team, "climate": team["climate"] + 0.1}) > base)


# --- Eq. 11-12: turnover and hiring ----------------------------------------------------------

TURNOVER = Turnover(
    baseline_logit=-LN3, ceo_logit_offset=LN3, strain_weight=1, bullied_weight=1, newcomer_weight=1
)


def test_leaving_chance_is_the_logistic_of_strain_persistent_bullying_newness_and_role():
    chance = rules.leave_probability(
        np.array([0.0, 0.0, 0.5]),
        np.array([0, 0, 1]),
        np.array([0.0, 0.0, 0.2]),
        np.array([False, True, False]),
        TURNOVER,
    )
    # logistic(-ln 3), logistic(0), logistic(-ln 3 + 0.5 + 1 + 0.2)
    assert chance == pytest.approx([0.25, 0.5, 1 / (1 + math.exp(LN3 - 1.7))])


def test_a_trusts_labour_market_shifts_the_leaving_logit():
    chance = rules.leave_probability(
        np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2, dtype=bool), TURNOVER,
        trust_shift=np.array([LN3, -LN3]),
    )  # fmt: skip
    assert chance == pytest.approx([0.5, 0.1])  # logistic(0); logistic(-2 ln 3) = 1 / 10


@pytest.mark.parametrize("which", [0, 1, 2])
def test_strain_persistent_bullying_and_newness_each_raise_the_leaving_chance(which):
    rng = np.random.default_rng(7)
    state = [rng.random(100), rng.integers(0, 2, 100).astype(float), rng.random(100)]
    more = [column + 0.1 * (i == which) for i, column in enumerate(state)]
    ceo = np.zeros(100, dtype=bool)
    assert np.all(
        rules.leave_probability(*more, ceo, Turnover())
        > rules.leave_probability(*state, ceo, Turnover())
    )


def test_hiring_is_faster_with_money_up_to_a_cap_and_slower_in_a_bullying_trust():
    u = Turnover(reputation_penalty=2.0)
    chance = rules.hiring_probability(
        np.array([0.1, 0.1, 0.1, 0.1, 0.9]),
        np.array([1.0, 2.0, 0.5, 1.0, 1.5]),
        np.array([0.0, 0.0, 0.0, 0.5, 0.0]),
        u,
    )
    # 0.1; 0.1 x min(2, 1.5); 0.1 x 0.5; 0.1 x exp(-2 x 0.5); 0.9 x 1.5 capped at 1
    assert chance == pytest.approx([0.1, 0.15, 0.05, 0.1 * math.exp(-1), 1.0])


# --- Eq. 13: the regulator -------------------------------------------------------------------

RATING = Regulator(
    quality_target=0.8,
    inadequate_quality=0.5,
    pressure_gain=2,
    support_gain=1,
    max_extra_pressure=1,
    max_extra_support=0.15,
    feedback_decay=0.7,
    ceo_removal_probability=0.3,
)
QUALITY = np.array([0.9, 0.6, 0.4])  # shortfalls 0, 0.2, 0.4 against the target 0.8


def rate(stance: float, extra_pressure=(0.1, 0.2, 0.9), extra_support=(0.0, 0.0, 0.1)):
    return rules.regulator_feedback(
        QUALITY, np.array(extra_pressure), np.array(extra_support), stance, RATING
    )


def test_a_punitive_regulator_turns_shortfall_into_pressure_and_removals():
    pressure, support, removal = rate(0.0)
    # 0.7 x 0.1; 0.7 x 0.2 + 2 x 0.2; 0.7 x 0.9 + 2 x 0.4 = 1.43 capped at 1
    assert pressure == pytest.approx([0.07, 0.54, 1.0])
    assert support == pytest.approx([0.0, 0.0, 0.07])
    assert removal == pytest.approx([0.0, 0.0, 0.3])  # only the inadequate trust


def test_a_supportive_regulator_turns_shortfall_into_support():
    pressure, support, removal = rate(1.0)
    assert pressure == pytest.approx([0.07, 0.14, 0.63])
    assert support == pytest.approx([0.0, 0.15, 0.15])  # 0.2 and 0.07 + 0.4, capped at 0.15
    assert removal == pytest.approx([0.0, 0.0, 0.0])


def test_a_mixed_stance_splits_the_response():
    pressure, support, removal = rate(0.5)
    assert pressure == pytest.approx([0.07, 0.34, 1.0])
    assert support == pytest.approx([0.0, 0.1, 0.15])
    assert removal == pytest.approx([0.0, 0.0, 0.15])


def test_a_victim_of_several_acts_descends_from_the_stated_one():
    """Eq. 15a: the counted source's act first, then the most senior perpetrator, then the
    lowest post; one act per victim, whatever the order the acts arrive in."""
    level = np.array([0, 1, 2, 3, 4, 4, 4])
    victim = np.array([6, 6, 6, 5, 5, 4])
    bullies = np.array([3, 1, 2, 3, 2, 3])
    from_source = np.array([False, False, True, False, False, False])
    chosen = rules.attribute_parent(victim, bullies, from_source, level)
    by_victim = dict(zip(victim[chosen].tolist(), bullies[chosen].tolist(), strict=True))
    assert by_victim == {6: 2, 5: 2, 4: 3}
    shuffled = np.array([5, 4, 3, 2, 1, 0])
    again = rules.attribute_parent(
        victim[shuffled], bullies[shuffled], from_source[shuffled], level
    )
    assert (
        dict(zip(victim[shuffled][again].tolist(), bullies[shuffled][again].tolist(), strict=True))
        == by_victim
    )
