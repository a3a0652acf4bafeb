"""Property: whatever a user writes into a scenario or experiment file, culturesim either accepts
it (exit 0) or refuses it with exactly one `error:` line and exit 2, writing nothing; it never
shows a traceback, and never takes more than MEMORY_LIMIT of Python memory to decide.

Files are the bundled scenarios and experiments, mutated: a value replaced by anything TOML
can hold (huge, negative, NaN, text with newlines, arrays, tables, deep nesting), a key deleted
or added, or the text itself cut, spliced or given a byte-order mark. The examples are derandomised
and bounded so the test takes seconds in CI; a few mutated scenarios that validate are also run
(2 weeks, small organisations only) to check that what validates also runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import tomllib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from culturesim.batch.experiment import EXPERIMENT_DIR
from culturesim.cli import main
from culturesim.engine.scenario import MAX_NESTING, SCENARIO_DIR, load_scenario

MEMORY_LIMIT = 256 * 2**20
"""Most Python memory (tracemalloc's peak, numpy included) validating one file may take."""
RUN_POSTS_LIMIT = 5_000
"""Mutated scenarios are run only up to this many posts, to keep the test short."""

DEEP = "deeply-nested-array"
BUNDLED = sorted(SCENARIO_DIR.glob("*.toml")) + sorted(EXPERIMENT_DIR.glob("*.toml"))
FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def leaf_paths(value: Any, at: tuple = ()) -> Iterator[tuple]:
    """Every key path in a parsed TOML table, tables and arrays of tables included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*at, key)
            yield from leaf_paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield from leaf_paths(item, (*at, index))


def container(table: Any, path: tuple) -> Any:
    for part in path[:-1]:
        table = table[part]
    return table


anything = st.recursive(
    st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=-3, max_value=60),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.text(max_size=12),
        st.sampled_from(["baseline", "../../x", "/etc/passwd", "/proc/self/mem", "grid", "sobol"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_file(draw: st.DrawFn, sources: list[Path] = BUNDLED) -> tuple[str, bytes]:
    """(name of a bundled file, the bytes of a mutated copy)."""
    source = draw(st.sampled_from(sources))
    table = tomllib.loads(source.read_text(encoding="utf-8"))
    paths = list(leaf_paths(table))
    kind = draw(st.sampled_from(["replace", "replace", "delete", "add", "text", "deep"]))
    if kind in ("replace", "delete", "deep") and paths:
        path = draw(st.sampled_from(paths))
        holder = container(table, path)
        if kind == "delete":
            del holder[path[-1]]
        elif kind == "deep":
            holder[path[-1]] = DEEP  # placeholder, written as text below
        else:
            holder[path[-1]] = draw(anything)
    elif kind == "add":
        tables = [()] + [p for p in paths if isinstance(container(table, (*p, None)), dict)]
        where = container(table, (*draw(st.sampled_from(tables)), None))
        where[draw(st.text(min_size=1, max_size=10))] = draw(anything)
    text = tomli_w.dumps(table).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([2, MAX_NESTING + 1, 400, 3000]))
        text = text.replace(f'"{DEEP}"'.encode(), b"[" * depth + b"1" + b"]" * depth)
    if kind == "text":
        text = source.read_bytes()
        cut = draw(st.integers(min_value=0, max_value=len(text)))
        edit = draw(st.sampled_from(["truncate", "insert", "bom", "crlf"]))
        if edit == "truncate":
            text = text[:cut]
        elif edit == "insert":
            text = text[:cut] + draw(st.binary(min_size=1, max_size=4)) + text[cut:]
        elif edit == "bom":
            text = b"\xef\xbb\xbf" + text
        else:
            text = text.replace(b"\n", b"\r\n")
    return source.name, text


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A fresh folder to write the file into and to run in."""
    with tempfile.TemporaryDirectory() as folder:
        previous = os.getcwd()
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(previous)


def assert_contract(result: Any, folder: Path, before: set[str]) -> None:
    """Exit 0, or exit 2 with exactly one `error:` line and nothing written; never a crash."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert {p.name for p in folder.iterdir()} == before, "a refused file wrote something"


@FUZZ
@given(mutated_file())
def test_mutated_files_are_accepted_or_refused_in_one_line(mutated: tuple[str, bytes]) -> None:
    name, content = mutated
    with workdir() as folder:
        (folder / name).write_bytes(content)
        tracemalloc.start()
        try:
            result = CliRunner().invoke(main, ["validate", name])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        event(f"exit {result.exit_code}")
        assert_contract(result, folder, {name})
        assert peak < MEMORY_LIMIT, f"validate took {peak / 2**20:.0f} MiB"


@pytest.mark.slow
@settings(FUZZ, max_examples=8)
@given(mutated_file(sorted(SCENARIO_DIR.glob("*.toml"))))
def test_mutated_scenarios_that_validate_also_run(mutated: tuple[str, bytes]) -> None:
    name, content = mutated
    with workdir() as folder:
        (folder / name).write_bytes(content)
        try:
            organisation = load_scenario(folder / name).organisation
        except ValueError:
            return  # refused: the validate property covers it
        if organisation.trusts * organisation.staff_per_trust > RUN_POSTS_LIMIT:
            return
        result = CliRunner().invoke(main, ["run", name, "--steps", "2", "-q", "--out", "run"])
        assert_contract(result, folder, {name})
        if result.exit_code == 0:
            summary = (folder / "run" / "summary.json").read_text()
            json.loads(summary, parse_constant=lambda constant: 1 / 0)  # strict JSON
