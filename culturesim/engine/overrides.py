"""`--set PATH=VALUE`: changes to a scenario typed on the command line, validated like a file.

VALUE is read as a TOML value (`0.9`, `true`, `[7, 5, 6, 12]`, `"text"`, `{kind = "..."}`); text
that is not valid TOML is taken as a plain string, so `--set name=my-run` works unquoted and a
typo such as `--set run.steps=1O` fails validation with the field's allowed type. A prefix
names the arm of a comparison (`B:regulator.stance=0.9`); without one a setting applies to both.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from culturesim.engine.scenario import Scenario, ScenarioError

ARMS = ("A", "B")
_SETTING = re.compile(r"^(?:(?P<arm>[A-Za-z]\w*):)?(?P<path>[^=:\s]+)=(?P<value>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Setting:
    """One `--set`: the arm it is for (None: every arm), the dotted path and the value."""

    arm: str | None
    path: str
    value: Any


def parse_value(text: str) -> Any:
    """A TOML value, or the text itself where it is not one."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_setting(text: str, arms: tuple[str, ...] = ()) -> Setting:
    """Read `[ARM:]PATH=VALUE`; an arm prefix is allowed only where `arms` lists it."""
    match = _SETTING.match(text.strip())
    if match is None:
        raise ScenarioError(f"--set {text!r}: expected PATH=VALUE, e.g. regulator.stance=0.9")
    arm = match["arm"]
    if arm is not None and arm.upper() not in arms:
        allowed = f"arms here are {', '.join(arms)}" if arms else "only `compare` has arms"
        raise ScenarioError(f"--set {text}: unknown arm prefix '{arm}:' ({allowed})")
    return Setting(arm.upper() if arm else None, match["path"], parse_value(match["value"]))


def parse_settings(texts: Iterable[str], arms: tuple[str, ...] = ()) -> list[Setting]:
    return [parse_setting(text, arms) for text in texts]


def apply_settings(
    scenario: Scenario, settings: Iterable[Setting], arm: str | None = None
) -> Scenario:
    """The scenario with the settings for `arm` (and those for every arm) applied, in order."""
    chosen = [s for s in settings if s.arm is None or s.arm == arm]
    if not chosen:
        return scenario
    origin = f"--set {arm}:" if arm and any(s.arm == arm for s in chosen) else "--set"
    return scenario.with_overrides({s.path: s.value for s in chosen}, origin)
