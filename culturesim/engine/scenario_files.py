"""Scenario files: reading TOML safely, `extends` chains, which file set each value, and the
bundled scenarios. The schema itself is culturesim.engine.scenario, which re-exports these."""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from culturesim.bundled import bundled_folder
from culturesim.errors import ScenarioError

if TYPE_CHECKING:
    from culturesim.engine.scenario import Scenario

SCENARIO_DIR = bundled_folder("scenarios")
MAX_NESTING = 32
"""Deepest nesting of tables and arrays a scenario or experiment file may have (the schema's
deepest path is 6 levels); deeper files are refused before they can exhaust the stack."""
MAX_EXTENDS = 32
"""Most files in one `extends` chain (the file itself and its parents)."""
MAX_FILE_BYTES = 1_000_000
"""Largest scenario or experiment file read (bundled ones are a few kilobytes)."""


def read_toml(path: Path) -> dict:
    """Read a TOML file (a UTF-8 byte-order mark allowed); syntax errors name the file, line and
    column; files over MAX_FILE_BYTES or nested deeper than MAX_NESTING are refused."""
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder, not a scenario file")
    if path.exists() and not path.is_file():
        raise ScenarioError(f"{path}: not a regular file (a scenario is a TOML text file)")
    if not path.is_file():
        bundled = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))
        experiments = sorted(p.stem for p in bundled_folder("experiments").glob("*.toml"))
        close = difflib.get_close_matches(path.stem, bundled + experiments, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f"; bundled: {', '.join(bundled)}"
        raise ScenarioError(f"{path}: no such file or bundled scenario{hint}")
    try:
        with path.open("rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(
            f"{path}: cannot be read as a scenario file ({error.strerror or error})"
        ) from None
    if len(content) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; not a scenario file")
    try:
        table = tomllib.loads(content.decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: TOML syntax error: {error}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except RecursionError:
        table = None
    if table is None or _deeper_than(table, MAX_NESTING):
        raise ScenarioError(
            f"{path}: tables and arrays nested more than {MAX_NESTING} levels deep "
            f"(the limit is {MAX_NESTING})"
        )
    return table


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether tables and arrays nest more than `limit` levels (stops looking at the limit)."""
    if not isinstance(value, dict | list):
        return False
    if limit == 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(_deeper_than(item, limit - 1) for item in items)


def deep_merge(base: dict, changes: dict) -> dict:
    """Tables merge key by key; any other value (arrays included) replaces the base's."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_scenario_path(name: str | Path, relative_to: Path | None = None) -> Path:
    """A path as given, else relative to the including file, else a bundled scenario's name."""
    path = Path(name)
    candidates = [path]
    if relative_to is not None and not path.is_absolute():
        candidates.insert(0, relative_to / path)
    candidates += [SCENARIO_DIR / path, SCENARIO_DIR / f"{path}.toml"]
    return next((c for c in candidates if c.is_file()), path)


def read_scenario_table(
    path: Path, _seen: tuple[Path, ...] = (), origins: dict[tuple, str] | None = None
) -> dict:
    """The raw table of a scenario file with its `extends` chain merged in.

    With `origins`, records for every value (by key path) the file it came from, so an error
    in an inherited value can name the parent file that holds it.
    """
    identity = path.resolve() if path.exists() else path
    if identity in _seen:
        raise ScenarioError(
            f"{path}: extends itself (through {' -> '.join(p.name for p in _seen)})"
        )
    if len(_seen) >= MAX_EXTENDS:
        raise ScenarioError(
            f"{_seen[0]}: extends chain longer than {MAX_EXTENDS} files (the limit), at {path}"
        )
    raw = read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        base: dict = {}
    elif not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends = {parent!r}: must be a file name (string)")
    else:
        parent_path = resolve_scenario_path(parent, path.parent)
        if parent_path.exists() and not parent_path.is_file():
            raise ScenarioError(f"{path}: extends = {parent!r}: not a regular file")
        if not parent_path.is_file():
            raise ScenarioError(f"{path}: extends = {parent!r}: no such scenario file")
        base = read_scenario_table(parent_path, (*_seen, identity), origins)
        if "name" not in raw:
            base.pop("name", None)
        if "question" not in raw:
            base.pop("question", None)
    if origins is not None:
        record_origins(raw, str(path), origins)
    return deep_merge(base, raw) if base else raw


def record_origins(table: dict, source: str, origins: dict[tuple, str], at: tuple = ()) -> None:
    """Note `source` as where each value of `table` (tables key by key) was set."""
    for key, value in table.items():
        if isinstance(value, dict) and value:
            record_origins(value, source, origins, (*at, key))
        else:
            origins[(*at, key)] = source


def blame(loc: tuple, origins: dict[tuple, str] | None) -> str | None:
    """The file that set the value at `loc` ("" or None: the file being validated, or unknown)."""
    if not origins:
        return None
    for length in range(len(loc), 0, -1):
        if loc[:length] in origins:
            return origins[loc[:length]]
    inside = {source for key, source in origins.items() if key[: len(loc)] == loc}
    return inside.pop() if len(inside) == 1 else None


def name_from_file(path: Path) -> str:
    """The default name of a file's scenario or experiment: its stem, made a safe folder name
    ('my scenario.toml' -> 'my-scenario'), so a name the user never wrote is never refused."""
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", path.stem).strip("-._+")[:80]
    return slug or "unnamed"


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (`extends`) and validate a scenario file or a bundled scenario's name."""
    resolved = resolve_scenario_path(path)
    origins: dict[tuple, str] = {}
    raw = read_scenario_table(resolved, origins=origins)
    raw.setdefault("name", name_from_file(resolved))
    own = {key: "" if source == str(resolved) else source for key, source in origins.items()}
    from culturesim.engine.scenario import validate_scenario  # the schema imports this module

    return validate_scenario(raw, str(path), own)


def bundled_scenarios() -> list[tuple[str, str]]:
    """(name, question) of each scenario shipped in scenarios/."""
    found = []
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        question = read_toml(path).get("question", "")
        found.append((path.stem, question))
    return found
