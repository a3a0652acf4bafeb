"""Build hook: stamp the wheel with the git commit it was built from.

An installed wheel is not a git checkout, so `culturesim.files.git_commit` cannot ask git which
code it is; it reads this stamp instead (`culturesim/BUILD_COMMIT`), and every run folder's
provenance names the commit. Editable installs read the checkout itself and get no stamp; a
wheel built from an sdist (`python -m build`) has no git to ask, so no stamp either.
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
        self._stamp_folder = None
        if version == "editable":
            return
        top = _git(self.root, "rev-parse", "--show-toplevel")
        if not top or Path(top).resolve() != Path(self.root).resolve():
            return  # not this project's checkout (an sdist, perhaps inside another repository)
        commit = _git(self.root, "rev-parse", "HEAD")
        dirty = _git(self.root, "status", "--porcelain", "--untracked-files=no")
        self._stamp_folder = tempfile.TemporaryDirectory()
        stamp = Path(self._stamp_folder.name) / "BUILD_COMMIT"
        stamp.write_text(f"{commit}{'+dirty' if dirty else ''}\n")
        build_data["force_include"][str(stamp)] = "culturesim/BUILD_COMMIT"

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        if self._stamp_folder is not None:
            self._stamp_folder.cleanup()
