"""Driver schedules (ODD 7.1) and the episode log behind cascades and R (ODD 7.13), by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from culturesim.engine.cascades import EpisodeLog, cascade_sizes, cascade_statistics
from culturesim.engine.scenario import Change, Schedule, load_scenario


def schedule(value: float, *changes: tuple[int, float, int]) -> Schedule:
    return Schedule(
        value=value, changes=[Change(week=w, value=v, over_weeks=o) for w, v, o in changes]
    )


# --- Schedule.values -------------------------------------------------------------------------


def test_a_schedule_without_changes_holds_its_value():
    assert schedule(0.7).values(4).tolist() == [0.7] * 4


def test_a_step_changes_the_value_from_its_week_on():
    assert schedule(1.0, (3, 2.0, 0)).values(6).tolist() == [1, 1, 1, 2, 2, 2]


def test_a_ramp_moves_linearly_then_holds():
    # from week 2, 1.0 to 3.0 over 4 weeks: 0.5 a week, reached at week 6
    assert schedule(1.0, (2, 3.0, 4)).values(9) == pytest.approx([1, 1, 1, 1.5, 2, 2.5, 3, 3, 3])


def test_a_ramp_starts_from_wherever_the_driver_is_at_its_week():
    # a step to 2 at week 1, then a ramp down to 0 over 2 weeks from week 3; a ramp cut short
    # by a later step
    values = schedule(1.0, (3, 0.0, 2), (1, 2.0, 0)).values(7)  # listed out of order
    assert values == pytest.approx([1, 2, 2, 2, 1, 0, 0])
    cut = schedule(0.0, (0, 4.0, 4), (2, 0.5, 0)).values(5)
    assert cut == pytest.approx([0, 1, 0.5, 0.5, 0.5])


def test_a_ramp_begun_mid_ramp_starts_from_the_value_reached():
    # 0 -> 4 over 4 weeks from week 0 reaches 2 at week 2; then 2 -> 0 over 2 weeks
    assert schedule(0.0, (0, 4.0, 4), (2, 0.0, 2)).values(5) == pytest.approx([0, 1, 2, 1, 0])


def test_changes_at_or_after_the_end_are_ignored_and_the_length_is_the_run():
    values = schedule(1.0, (5, 9.0, 0), (7, 9.0, 3)).values(5)
    assert values.tolist() == [1.0] * 5
    assert schedule(1.0, (0, 2.0, 0)).values(3).tolist() == [2.0] * 3


# --- EpisodeLog ------------------------------------------------------------------------------

NONE = np.array([], dtype=np.int64)


def start(log: EpisodeLog, parents: list[int], week: int) -> np.ndarray:
    parent = np.array(parents, dtype=np.int64)
    posts = 10 + np.arange(len(parent))
    return log.start(parent, posts, 100 * week + posts, week)


@pytest.fixture
def log() -> EpisodeLog:
    """Week 0: roots 0 and 1; week 1: 2 converted by 0; week 2: 3 and 5 converted by 2, 4 a root;
    week 3: nothing."""
    log = EpisodeLog(window_weeks=2)
    start(log, [-1, -1], 0)
    start(log, [0], 1)
    start(log, [2, -1, 2], 2)
    log.start(NONE, NONE, NONE, 3)
    return log


def test_episodes_get_consecutive_ids_and_record_who_and_when(log):
    assert log.count == 6
    assert log["start_week"].tolist() == [0, 0, 1, 2, 2, 2]
    assert log["post"].tolist() == [10, 11, 10, 10, 11, 12]
    assert log["person_id"].tolist() == [10, 11, 110, 210, 211, 212]


def test_conversions_link_parents_roots_generations_and_offspring(log):
    assert log["parent"].tolist() == [-1, -1, 0, 2, -1, 2]
    assert log["root"].tolist() == [0, 1, 0, 0, 4, 0]
    assert log["generation"].tolist() == [0, 0, 1, 2, 0, 2]
    assert log["offspring"].tolist() == [1, 0, 2, 0, 0, 0]  # two children in one week both count


def test_this_weeks_counts(log):
    assert (log.new_this_week, log.conversions_this_week) == (0, 0)
    fresh = EpisodeLog(window_weeks=2)
    assert (fresh.new_this_week, fresh.conversions_this_week) == (0, 0)
    start(fresh, [-1, -1], 0)
    start(fresh, [0, -1, 1], 1)
    assert (fresh.new_this_week, fresh.conversions_this_week) == (3, 2)


def test_reproduction_number_is_conversions_over_episodes_a_window_earlier(log):
    # W = 2: conversions in weeks 2-3 (2 + 0) over episodes begun in weeks 0-1 (2 + 1)
    assert log.reproduction_number() == pytest.approx(2 / 3)
    log.start(NONE, NONE, NONE, 4)
    # conversions in weeks 3-4 (0) over episodes begun in weeks 1-2 (1 + 3)
    assert log.reproduction_number() == 0.0


def test_reproduction_number_is_undefined_before_two_windows_or_without_episodes():
    log = EpisodeLog(window_weeks=2)
    for week in range(3):
        start(log, [-1], week)
        assert math.isnan(log.reproduction_number())
    quiet = EpisodeLog(window_weeks=1)
    for week in range(3):
        quiet.start(NONE, NONE, NONE, week)
    assert math.isnan(quiet.reproduction_number())


def test_the_log_grows_beyond_its_initial_capacity_and_keeps_every_episode():
    log = EpisodeLog(window_weeks=3, capacity=2)
    ids = [start(log, [-1, -1, -1], 0), start(log, [0, 1, 2, 0, 1], 1), start(log, [5], 2)]
    assert np.concatenate(ids).tolist() == list(range(9))
    assert log["parent"].tolist() == [-1, -1, -1, 0, 1, 2, 0, 1, 5]
    assert log["root"].tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2]
    assert log["generation"].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 2]
    assert log["offspring"].tolist() == [2, 2, 1, 0, 0, 1, 0, 0, 0]
    frame = log.frame()
    assert list(frame.columns) == ["episode", *EpisodeLog.columns]
    assert frame.episode.tolist() == list(range(9))


def test_cascades_are_roots_with_their_descendants(log):
    sizes = cascade_sizes(log.frame())
    assert sizes.to_dict("list") == {
        "root": [0, 1, 4],
        "size": [4, 1, 1],
        "depth": [2, 0, 0],
        "start_week": [0, 0, 2],
    }
    # run of 4 weeks, W = 2: R over episodes begun in weeks 0-1 (offspring 1, 0, 2)
    stats = cascade_statistics(log.frame(), steps=4, window_weeks=2)
    assert stats["cascades"] == 3 and stats["cascade_max_size"] == 4
    assert stats["conversions"] == 3 and stats["perpetrator_episodes"] == 6
    assert stats["reproduction_number"] == pytest.approx(1.0)


def test_cascade_statistics_agree_with_the_cascade_table_of_a_run():
    """The headline figures are counted with numpy; they are the figures of `cascade_sizes`
    (pandas) over the cascades rooted in the recorded weeks, to the bit."""
    from culturesim.run.simulate import simulate

    scenario = load_scenario("baseline").with_overrides(
        {"organisation.staff_per_trust": 600, "run.steps": 80}
    )
    episodes = simulate(scenario, seed=4).episodes
    cascades = cascade_sizes(episodes)
    cascades = cascades[cascades.start_week >= 0]
    stats = cascade_statistics(episodes, steps=80, window_weeks=13)
    observed = episodes[(episodes.start_week >= 0) & (episodes.start_week < 80 - 13)]
    assert len(cascades) > 20 and (cascades["size"] > 1).any()
    assert stats["cascades"] == len(cascades)
    assert stats["cascade_mean_size"] == float(cascades["size"].mean())
    assert stats["cascade_max_size"] == cascades["size"].max()
    assert stats["cascade_max_depth"] == cascades["depth"].max()
    assert stats["reproduction_number"] == float(observed.offspring.mean())
    assert stats["perpetrator_episodes"] == (episodes.start_week >= 0).sum()
