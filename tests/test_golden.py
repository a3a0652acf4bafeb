"""The golden baseline: a refactor leaves short runs' outputs bit for bit unchanged.

Refresh on purpose only, when a change to the model is meant: `python -m tests.golden --refresh`.
"""

import json

import pytest

from tests.golden import CASES, golden_path, golden_record


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_match_the_golden_baseline_exactly(case):
    pinned = json.loads(golden_path(case).read_text())
    now = golden_record(case)
    for column, values in pinned["timeseries"].items():
        assert now["timeseries"][column] == values, f"{case}: weekly {column} changed"
    assert now["summary"] == pinned["summary"], f"{case}: summary changed"
    assert now["digests"] == pinned["digests"], f"{case}: a table's contents changed"
