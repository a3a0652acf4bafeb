"""The compiled sums per team and per trust give np.bincount's numbers bit for bit.

The engine relies on this to keep every trajectory unchanged (issue 11): a week's team and
trust sums moved from `np.bincount(group, weights=value * present)` to
`culturesim.engine.sums.sum_per_group`, which is also shared out among threads by whole trusts.
The organisation is a real one of three trusts of unequal size with a seventh of posts vacant;
the values are random floats spanning many magnitudes, so a changed order of additions would
show in the last bits.
"""

import numpy as np
import pytest

from culturesim.engine import threads
from culturesim.engine.model import CultureModel
from culturesim.engine.sums import among, first_of_each
from culturesim.engine.threads import week_threads


@pytest.fixture(scope="module")
def organisation():
    model = CultureModel(
        "baseline",
        seed=3,
        burn_in=False,
        **{
            "organisation.trusts": 3,
            "organisation.staff_per_trust": 600,
            "organisation.trust_size_spread": 0.4,
        },
    )
    assert len(set(np.diff(model.org.trust_start))) == 3  # unequal trusts
    return model.org


@pytest.fixture
def values(organisation):
    rng = np.random.default_rng(11)
    n = organisation.n_posts
    occupied = rng.random(n) > 1 / 7
    return rng.random(n) * 10.0 ** rng.integers(-8, 8, n), occupied


@pytest.mark.parametrize("count", [1, 2, 3])
def test_team_and_trust_sums_equal_bincount_bit_for_bit(organisation, values, monkeypatch, count):
    monkeypatch.setattr(threads, "PARALLEL_FROM", 0)
    value, occupied = values
    org = organisation
    with week_threads(count):
        assert threads.threads_for(org.n_posts) == count
        per_team = org.sum_per_team(value, occupied)
        per_trust = org.sum_per_trust(value, occupied)
        staff_per_team = org.count_per_team(occupied)
    expected_team = np.bincount(org.team, weights=value * occupied, minlength=org.n_posts)
    expected_trust = np.bincount(org.trust, weights=value * occupied, minlength=org.n_trusts)
    assert per_team.tobytes() == expected_team.tobytes()
    assert per_trust.tobytes() == expected_trust.tobytes()
    assert staff_per_team.tobytes() == np.bincount(org.team, occupied, org.n_posts).tobytes()
    assert staff_per_team[org.leaders].sum() == occupied.sum()


def test_a_mask_as_the_value_counts(organisation, values):
    _, occupied = values
    recent = np.roll(occupied, 5)
    org = organisation
    counted = org.sum_per_team(recent, occupied)
    assert np.array_equal(counted, np.bincount(org.team, recent & occupied, org.n_posts))


def test_a_trust_value_spread_to_its_posts_is_the_gather(organisation):
    org = organisation
    trust_value = np.array([0.25, 1.5, 3.0])[: org.n_trusts]
    assert np.array_equal(org.per_post(trust_value), trust_value[org.trust])
    assert np.array_equal(
        org.frontline_per_trust, [np.sum(org.level[org.trust == t] == 4) for t in range(3)]
    )


@pytest.mark.parametrize("count", [1, 2])
def test_among_is_isin(monkeypatch, count):
    monkeypatch.setattr(threads, "PARALLEL_FROM", 0)
    rng = np.random.default_rng(8)
    ids = rng.permutation(5_000)[:3_000].astype(np.int32)
    with week_threads(count):
        for chosen in (rng.choice(6_000, 40), np.array([-1, 7, 7, 4_999]), np.zeros(0, int)):
            chosen = chosen.astype(np.int32)
            assert np.array_equal(among(ids, chosen), np.isin(ids, chosen))
    assert among(ids, ids[:10]).sum() == 10


def test_compassion_climate_is_the_mean_over_staff_to_the_bit():
    from culturesim.engine.state import COMPASSIONATE

    model = CultureModel("baseline", seed=2, **{"run.steps": 5})
    for _ in range(5):
        model.step()
    p = model.people
    expected = float((p.behaviour == COMPASSIONATE)[p.occupied].mean())
    assert model.records[-1]["compassion_climate"] == expected


@pytest.mark.parametrize("draws", [0, 1, 50, 5_000])
def test_first_of_each_finds_each_values_first_appearance_in_order(draws):
    """The acts a week keeps per victim (Eq. 15a, 16) are each victim's first in post order:
    the positions np.unique's return_index gives, in the order the values appear."""
    values = np.random.default_rng(draws).integers(0, max(draws // 3, 1), size=draws)
    first = first_of_each(values)
    _, expected = np.unique(values, return_index=True)
    assert np.array_equal(first, np.sort(expected))  # the same positions, in appearance order
    assert len(set(values[first])) == len(first) == len(set(values))
