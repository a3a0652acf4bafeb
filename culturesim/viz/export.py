"""Take a run away: the page's arms as run folders in one zip archive.

Each arm is written by the same writer as `culturesim run` (`culturesim.run.simulate.write_run`),
so every tool that reads a run folder (`culturesim cascades`, `load_results`) reads these. The
scenario recorded is the one the arm started from with its seed and the weeks run so far;
live lever moves, which no scenario file expresses, and the branch week are recorded in
provenance.json under "page".
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from culturesim.run.simulate import result_of, settle, write_run
from culturesim.viz.session import BRANCH, Session, VizModel


def folder_name(model: VizModel, branch_week: int | None = None) -> str:
    """An arm's folder name: scenario, seed, and for a branch the week it began."""
    name = f"{model.scenario.name}-seed{model.seed}-week{model.week}"
    return name + (f"-branch-from-week{branch_week}" if branch_week is not None else "")


def write_arm(folder: Path, model: VizModel, arm: str, branch_week: int | None) -> None:
    """One arm's run folder."""
    started = datetime.now(UTC)
    scenario = settle(model.scenario, seed=model.seed, steps=model.week)
    notes = {
        "page": {
            "arm": arm,
            "branch_week": branch_week,
            "lever_changes": [asdict(change) for change in model.lever_log],
        }
    }
    folder.mkdir(parents=True)
    write_run(folder, result_of(model, scenario=scenario), started, notes)


def run_archive(session: Session) -> tuple[bytes, str]:
    """The zip archive of every arm's run folder, and a file name for it.

    Refuses a run with no weeks yet: a run folder holds at least one week.
    """
    with session.lock:
        if session.week < 1:
            raise ValueError("run at least one week before downloading")
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="culturesim-page-") as scratch:
            root = Path(scratch)
            for arm, model in session.arms():
                branch_week = session.branch_week if arm == BRANCH else None
                write_arm(root / folder_name(model, branch_week), model, arm, branch_week)
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(root.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(root).as_posix())
        main = session.main
        return buffer.getvalue(), f"{folder_name(main)}.zip"
