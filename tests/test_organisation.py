"""The organisation builder: posts per level by span of control, and the hierarchy's invariants."""

from __future__ import annotations

import numpy as np
import pytest

from culturesim.engine.organisation import FRONTLINE, build_organisation, level_counts
from culturesim.engine.scenario import Organisation as OrganisationSettings

SPANS = [7, 5, 6, 12]


def test_level_counts_build_up_from_the_frontline_by_span():
    # 88 frontline in ceil(88/12) = 8 teams, ceil(8/6) = 2 managers, 1 director, 1 chief:
    # 88 + 8 + 2 + 1 + 1 = 100
    assert level_counts(100, SPANS) == [1, 1, 2, 8, 88]


@pytest.mark.parametrize("posts", [20, 37, 100, 200, 999, 2000, 15000])
def test_level_counts_add_up_to_the_trusts_posts(posts):
    assert sum(level_counts(posts, SPANS)) == posts


def test_level_counts_add_up_for_every_trust_size():
    """Sizes where one more frontline post needs a leader at several levels (30 and 82 were
    1-3 posts short) included: the organisation has exactly the posts asked for."""
    for posts in range(20, 5001):
        assert sum(level_counts(posts, SPANS)) == posts, posts


@pytest.mark.parametrize("posts", [20, 30, 37, 82, 100, 200, 999, 2000, 15000])
@pytest.mark.parametrize("spans", [SPANS, [8, 4, 5, 20], [3, 3, 3, 3]])
def test_level_counts_respect_the_spans(posts, spans):
    counts = level_counts(posts, spans)
    assert sum(counts) == posts
    assert counts[0] == 1 and counts[1] <= spans[0]
    # Team leaders: at least the fewest their span allows, at most three more (the posts no
    # larger frontline fits), never more than the frontline.
    fewest = -(-counts[-1] // spans[-1])
    assert fewest <= counts[-2] <= min(fewest + 3, counts[-1])
    for depth in range(2, len(counts) - 1):
        # the fewest leaders the span allows (directors capped at the board's size)
        needed = -(-counts[depth] // spans[depth - 1])
        assert counts[depth - 1] == (needed if depth > 2 else min(needed, spans[0]))


def build(**settings) -> tuple:
    chosen = OrganisationSettings(**settings)
    return chosen, build_organisation(chosen, np.random.default_rng(11))


@pytest.fixture(scope="module")
def three_trusts():
    return build(trusts=3, staff_per_trust=400, trust_size_spread=0.6, cross_team_ties=2.0)


def test_every_post_but_the_chief_executive_reports_one_level_up_in_its_own_trust(three_trusts):
    _, org = three_trusts
    has_manager = org.manager >= 0
    assert np.array_equal(~has_manager, org.level == 0)
    boss = org.manager[has_manager]
    assert np.array_equal(org.level[boss], org.level[has_manager] - 1)
    assert np.array_equal(org.trust[boss], org.trust[has_manager])
    assert np.bincount(org.trust[~has_manager]).tolist() == [1, 1, 1]


def test_reports_are_a_contiguous_block_and_spread_evenly(three_trusts):
    settings, org = three_trusts
    assert np.array_equal(
        org.n_reports, np.bincount(org.manager[org.manager >= 0], minlength=org.n_posts)
    )
    for leader in org.leaders:
        block = slice(org.first_report[leader], org.first_report[leader] + org.n_reports[leader])
        assert np.all(org.manager[block] == leader)
    assert np.all(org.n_reports[org.level == FRONTLINE] == 0)
    for trust in range(org.n_trusts):
        for depth in range(FRONTLINE):
            here = (org.trust == trust) & (org.level == depth)
            spans = org.n_reports[here]
            assert spans.max() - spans.min() <= 1
            assert spans.max() <= settings.spans_of_control[depth] or depth == 1


def test_teams_are_a_leaders_reports_and_the_board_includes_its_chief(three_trusts):
    _, org = three_trusts
    chiefs = np.flatnonzero(org.level == 0)
    assert np.array_equal(org.team[chiefs], chiefs)
    others = org.manager >= 0
    assert np.array_equal(org.team[others], org.manager[others])
    assert np.array_equal(
        org.team_size[org.leaders], org.n_reports[org.leaders] + (org.level[org.leaders] == 0)
    )
    assert org.team_size.sum() == org.n_posts


def test_colleagues_are_symmetric_same_level_same_trust_and_never_oneself(three_trusts):
    _, org = three_trusts
    ties = org.peers.tocoo()
    assert len(ties.row) > 0 and np.all(ties.data == 1.0)
    assert (org.peers != org.peers.T).nnz == 0
    assert np.all(ties.row != ties.col)
    assert np.array_equal(org.level[ties.row], org.level[ties.col])
    assert np.array_equal(org.trust[ties.row], org.trust[ties.col])


def test_trust_boundaries_sizes_and_funding(three_trusts):
    settings, org = three_trusts
    sizes = np.diff(org.trust_start)
    assert org.trust_start[0] == 0 and org.trust_start[-1] == org.n_posts
    assert np.array_equal(org.trust, np.repeat(np.arange(3), sizes))
    assert len(set(sizes.tolist())) > 1  # a spread gives trusts of different sizes
    assert np.all((org.trust_funding >= 0.3) & (org.trust_funding <= 2.0))
    for trust, size in enumerate(sizes):
        levels = np.bincount(org.level[org.trust == trust], minlength=FRONTLINE + 1)
        assert levels.tolist() == level_counts(int(size), settings.spans_of_control)


def test_equal_trusts_without_a_spread_and_no_ties_without_teammates():
    _, org = build(trusts=2, staff_per_trust=150, peer_ties=0, cross_team_ties=0.0)
    assert np.diff(org.trust_start).tolist() == [150, 150]
    assert org.peers.nnz == 0


def test_people_are_numbered_in_int32_and_a_run_past_that_stops_with_a_named_error():
    from culturesim.engine.model import CultureModel
    from culturesim.engine.state import ID_LIMIT

    model = CultureModel("baseline", seed=1, burn_in=False, **{"organisation.staff_per_trust": 200})
    people, replicate = model.people, model.replicates[0]
    assert people.person_id.dtype == np.int32 and people.source_person.dtype == np.int32
    replicate.next_person_id = ID_LIMIT - 3
    assert replicate.new_person_ids(3).tolist() == [ID_LIMIT - 3, ID_LIMIT - 2, ID_LIMIT - 1]
    assert replicate.next_person_id == ID_LIMIT
    replicate.next_person_id = ID_LIMIT - 2
    with pytest.raises(OverflowError, match="person ids are int32"):
        replicate.new_person_ids(3)


def test_episodes_past_the_int32_ids_stop_with_a_named_error():
    from culturesim.engine.cascades import EpisodeLog
    from culturesim.engine.state import ID_LIMIT

    log = EpisodeLog(window_weeks=4)
    log.count = ID_LIMIT - 1
    with pytest.raises(OverflowError, match="episodes in one run: ids are int32"):
        log.start(np.array([-1, -1]), np.array([0, 1]), np.array([0, 1]), week=0)
