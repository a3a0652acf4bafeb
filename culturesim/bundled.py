"""Where the bundled scenarios and experiments are, in a wheel and in a source checkout alike.

A wheel carries `scenarios/*.toml` and `experiments/*.toml` inside the package
(`culturesim/scenarios`, `culturesim/experiments`; see pyproject.toml), read here through
`importlib.resources`. A source checkout or an editable install keeps them in the repository's
top-level folders, beside the package, where they are edited.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_folder(kind: str) -> Path:
    """The folder of bundled `kind` files ('scenarios' or 'experiments')."""
    packaged = files("culturesim") / kind
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / kind
