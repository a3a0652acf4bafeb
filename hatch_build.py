"""Build hook: stamp the wheel with the git commit it was built from.

An installed wheel is not a git checkout, so `culturesim.files.git_commit` cannot ask git which
code it is; it reads this stamp instead (`culturesim/BUILD_COMMIT`), and every run folder's
provenance names the commit. Editable installs read the checkout itself and get no stamp.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _git(root: str, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


class CommitStamp(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version == "editable":
            return
        commit = _git(self.root, "rev-parse", "HEAD")
        if not commit:
            return  # built from an sdist or an export: no stamp, provenance says null
        dirty = _git(self.root, "status", "--porcelain", "--untracked-files=no")
        stamp = Path(tempfile.mkdtemp()) / "BUILD_COMMIT"
        stamp.write_text(commit + ("+dirty" if dirty else "") + "\n")
        build_data["force_include"][str(stamp)] = "culturesim/BUILD_COMMIT"
