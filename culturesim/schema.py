"""What scenario and experiment files share: the schema's base class and one-line errors.

Both file kinds are pydantic models built from `Section`; a validation error is turned into one
line naming the file, the dotted field, the value and what is allowed, by `describe_error`.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator


def _options(annotation: Any) -> list[Any]:
    """The types a field may hold, None left out (`X | None` gives [X]; `X` gives [X])."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _numeric(annotation: Any) -> bool:
    """Whether a field holds a number (`int`, `float`, or either or None)."""
    options = _options(annotation)
    return bool(options) and all(a in (int, float) for a in options)


def _boolean(annotation: Any) -> bool:
    """Whether a field holds true/false (`bool`, or it or None)."""
    return _options(annotation) == [bool]


def _not_a_boolean(value: Any) -> str | None:
    """What a value given for true/false is instead (None if it is one, numpy's included)."""
    if isinstance(value, bool | np.bool_) or value is None:
        return None
    if isinstance(value, str):
        return "text (write true or false without quotes)"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _number_list(annotation: Any) -> bool:
    """Whether a field holds a list or tuple of numbers (or either or None)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_number_list(a) for a in get_args(annotation) if a is not type(None))
    items = [a for a in get_args(annotation) if a is not Ellipsis]
    return get_origin(annotation) in (list, tuple) and bool(items) and all(map(_numeric, items))


def _not_a_number(value: Any) -> str | None:
    """What a value given for a number is instead (None if it may be one): true/false or text,
    with a hint where the text is a number in quotes."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return "text"
        return "text (write it without quotes)"
    return None


def _as_written(value: Any) -> str:
    """A value as it was written in TOML (true, not True; text in quotes)."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


class Section(BaseModel):
    """A table of a scenario or experiment file: unknown keys refused, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _values_as_written(cls, data: Any) -> Any:
        """TOML's true/false and quoted text are not numbers, and neither text nor numbers
        are true/false (pydantic would otherwise read true/false as 1/0, parse the text, and
        take "no", "off" or 0 for false, so `steps = "104"` or `figures = "no"` would pass
        unnoticed)."""
        for key, value in data.items() if isinstance(data, dict) else ():
            field = cls.model_fields.get(key)
            if field is None:
                continue
            if _numeric(field.annotation) and (why := _not_a_number(value)):
                raise ValueError(f"{key} = {_as_written(value)}: must be a number, not {why}")
            if _boolean(field.annotation) and (why := _not_a_boolean(value)):
                raise ValueError(f"{key} = {_as_written(value)}: must be true or false, not {why}")
            if _number_list(field.annotation) and isinstance(value, list | tuple):
                for item in value:
                    if why := _not_a_number(item):
                        shown = _as_written(item)
                        raise ValueError(f"{key} = {value!r}: must be numbers; {shown} is {why}")
        return data


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The schema classes an annotation holds (`X`, `X | None`, `list[X]`, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def model_at(
    root: type[BaseModel], loc: tuple, tags: Mapping[str, type[BaseModel]] = {}
) -> type[BaseModel] | None:
    """The schema class a location in a file refers to, for 'did you mean' hints.

    `tags` names the classes of a tagged union (a scenario's intervention kinds), whose tag
    pydantic puts in the location.
    """
    model: type[BaseModel] | None = root
    for part in loc:
        if part in tags:
            model = tags[part]
            continue
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        found = _models_in(info.annotation)
        model = found[0] if found else None
    return model


def parameter_bounds(info: Any) -> tuple[float | None, float | None]:
    """The (min, max) a field allows, from its declaration."""
    lo = hi = None
    for rule in info.metadata:
        lo = getattr(rule, "ge", lo)
        hi = getattr(rule, "le", hi)
    return lo, hi


def describe_error(
    error: Mapping,
    origin: str,
    root: type[BaseModel],
    what: str,
    tags: Mapping[str, type[BaseModel]] = {},
) -> str:
    """One pydantic error as one line: file, dotted field, value and what is allowed.

    `what` names the whole file ("scenario", "experiment") when the error is not in a field.
    """
    full = tuple(error["loc"])
    loc = tuple(p for p in full if p not in tags)
    dotted = ".".join(str(p) for p in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        known = list(getattr(model_at(root, full[:-1], tags), "model_fields", {}))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(known)}"
        return f"{origin}: unknown key '{dotted}'{hint}"
    if kind == "missing":
        return f"{origin}: {dotted} is missing"
    value = error.get("input")
    message = error["msg"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        message = f"kind must be one of {', '.join(tags)}"
    message = message.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and loc == ("name",):
        folder = "run folder" if what == "scenario" else "results folder"
        message = f"must be 1-80 letters, digits, '-', '_', '.' or '+' (it names the {folder})"
    elif kind in ("model_type", "dict_type"):
        message = "must be a table ([section] or {key = value, ...})"
    elif kind == "list_type":
        message = "must be an array ([...], or [[...]] tables)"
    elif kind in ("int_parsing", "int_from_float", "int_type"):
        message = "must be a whole number"
    elif kind in ("float_parsing", "float_type"):
        message = "must be a number"
    elif kind in ("greater_than_equal", "less_than_equal"):
        info = getattr(model_at(root, full[:-1], tags), "model_fields", {}).get(loc[-1])
        lo, hi = parameter_bounds(info) if info is not None else (None, None)
        if lo is not None and hi is not None:
            message = f"must be from {lo} to {hi}"
    if isinstance(value, dict) and kind == "value_error":
        # A table's own check: its message names a field of the table ("x = 2: ..."), which
        # joins the path, or speaks of the whole table.
        fields = getattr(model_at(root, full, tags), "model_fields", {})
        names_a_field = message.split(" = ")[0].split(".")[0] in fields
        joint = "." if names_a_field else ": "
        return f"{origin}: {dotted + joint if dotted else ''}{message}"
    return f"{origin}: {dotted or what} = {value!r}: {message}"
