"""`param()`: how every parameter of the scenario schema is declared, in one place.

Each declaration carries the default, the allowed range, the unit, the source and the doc from
which validation, `culturesim show`, the page's sliders and the ODD's parameter table are made.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field


def param(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    unit: str = "",
    source: str,
    doc: str,
) -> Any:
    """Declare a parameter with everything a user, a validator and the ODD need to know."""
    return Field(
        default,
        ge=lo,
        le=hi,
        description=doc,
        json_schema_extra={"unit": unit, "source": source},
    )
