"""Writing folders safely: atomic files, whole folders swapped in, locks, provenance.

The rules a user relies on (stated in the README's "Outputs" section):

- A file is written under a temporary name, flushed to disk and renamed, so no reader ever sees
  half of it; a folder is built under a hidden temporary name beside its destination and renamed
  into place when complete.
- While a run or a sweep writes a destination, a lock (`.NAME.lock` beside it, held with the
  operating system's file lock and released if the process dies) refuses a second writer.
- Only a folder that culturesim wrote (its `provenance.json` or `manifest.json` says so) and that
  holds nothing culturesim did not write may be replaced; anything else is left untouched.
- A write that fails (a full disk) names the file it was writing.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from culturesim.errors import OutputError

WRITTEN_BY = "culturesim"
"""The marker in provenance.json and manifest.json that says culturesim wrote the folder."""
PACKAGES = (
    "culturesim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "matplotlib",
    "SALib", "distributed",
)  # fmt: skip


# --- files -----------------------------------------------------------------------------------


@contextmanager
def naming_failures(path: Path) -> Iterator[None]:
    """Turn an OSError while writing `path` (a full disk, a lost mount) into a one-line error
    that names the file (by its destination, if it is in a folder still being built)."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise OutputError(f"{destination(path)}: cannot write ({reason})") from None


def destination(path: Path) -> Path:
    """Where a file in a temporary folder (`.NAME.partial-PID`) will be once it is renamed."""
    return Path(*(_BUILDING.sub(r"\1", part) for part in Path(path).parts))


_BUILDING = re.compile(r"^\.(.+)\.partial-\d+$")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """`write(temporary)`, flushed to disk, then renamed to `path`: all of the file or none."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with naming_failures(path):
            write(temporary)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda temporary: temporary.write_bytes(data))


def atomic_write_table(path: Path, table: Any) -> None:
    """A pyarrow table as a Parquet file."""
    import pyarrow.parquet as pq

    atomic_write(path, lambda temporary: pq.write_table(table, temporary))


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (POSIX only; elsewhere a no-op)."""
    if os.name != "posix":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- folders ---------------------------------------------------------------------------------


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_parent(out: Path) -> None:
    """Create the folder `out` goes in; a file in the way is named as such."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = next((p for p in (out.parent, *out.parent.parents) if p.is_file()), None)
        if in_the_way is not None:
            raise OutputError(
                f"{in_the_way}: is a file, not a folder, so {out} cannot be written there"
            ) from None
        raise OutputError(f"{out.parent}: cannot create folder ({error.strerror})") from None


def clear_leftovers(out: Path) -> None:
    """Remove what killed processes left while building or swapping in `out`.

    Called with the destination's `FolderLock` just taken, so no other live process can be
    writing those leftovers: a process id in use again (reused, or a killed process not yet
    reaped) does not keep them. A process killed between the two renames of `swap_in` leaves
    the previous folder as `.NAME.old-PID` and no `NAME`: that folder is put back, not removed,
    before the destination is checked.
    """
    leftovers = re.compile(rf"\.{re.escape(out.name)}\.(partial|old)-\d+")
    for leftover in sorted(out.parent.iterdir()):
        kind = leftovers.fullmatch(leftover.name)
        if kind is None or not leftover.is_dir():
            continue
        if kind[1] == "old" and not out.exists():
            leftover.rename(out)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def temporary_folder(out: Path) -> Path:
    """A fresh hidden folder beside `out` to build it in (under the destination's lock)."""
    make_parent(out)
    temporary = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    with naming_failures(out):
        temporary.mkdir()
    return temporary


def swap_in(temporary: Path, out: Path) -> None:
    """Rename a complete folder into place; an old folder there is removed only after."""
    if out.is_dir() and any(out.iterdir()):
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        temporary.rename(out)
        shutil.rmtree(old)
    else:
        os.replace(temporary, out)  # an empty folder there is replaced in one step
    fsync_dir(out.parent)


def written_by_culturesim(folder: Path, marker_file: str, kind: str) -> bool:
    """Whether `folder/marker_file` says culturesim wrote this folder as a `kind` folder."""
    try:
        content = json.loads((folder / marker_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(content, dict)
        and content.get("written_by") == WRITTEN_BY
        and content.get("folder") == kind
    )


def check_replaceable(folder: Path, marker_file: str, kind: str, entries: Iterable[str]) -> None:
    """Refuse to replace anything but a `kind` folder culturesim wrote, holding only `entries`."""
    if not written_by_culturesim(folder, marker_file, kind):
        raise OutputError(
            f"{folder}: not a culturesim {kind} folder (no {marker_file} written by culturesim);"
            f" it is left untouched: choose another --out"
        )
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in set(entries))
    if foreign:
        raise OutputError(
            f"{folder}: holds files culturesim does not write ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); it is left untouched: move them or choose"
            f" another --out"
        )


class FolderLock:
    """Refuse a second run or sweep writing the same destination while one is writing it.

    The lock is the operating system's file lock (`filelock`) on `.NAME.lock` beside the
    folder, so the kernel releases it if the holder is killed. The file is deleted while still
    held, on release; filelock notices a file deleted under it and takes the new one.
    """

    def __init__(self, out: Path) -> None:
        from filelock import FileLock

        self.out = out
        self.path = out.parent / f".{out.name}.lock"
        self._lock = FileLock(self.path, timeout=0)

    def acquire(self) -> FolderLock:
        from filelock import Timeout

        make_parent(self.out)
        with naming_failures(self.path):
            try:
                self._lock.acquire()
            except Timeout:  # an OSError too, but not a failure to write
                held_elsewhere = True
            else:
                held_elsewhere = False
        if held_elsewhere:
            raise OutputError(
                f"{self.out}: another culturesim run or sweep is writing to this folder"
                f" (locked by {self.path.name}); wait for it or choose another --out"
            )
        clear_leftovers(self.out)
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self.path.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# --- provenance ------------------------------------------------------------------------------


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None where it is not installed)."""
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def git_commit() -> str | None:
    """The commit of the code running (with '+dirty' for uncommitted changes): from git in a
    source checkout, else from the stamp an installed wheel carries (hatch_build.py)."""
    here = Path(__file__).resolve().parent
    stamp = here / "BUILD_COMMIT"
    if stamp.is_file():
        return stamp.read_text().strip() or None
    if not (here.parent / "pyproject.toml").is_file():  # installed without a stamp
        return None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def provenance(kind: str, started: datetime | None = None) -> dict[str, Any]:
    """Where and with what a `kind` ("run", "sweep") folder was written, marked as culturesim's."""
    versions = package_versions()
    return {
        "written_by": WRITTEN_BY,
        "folder": kind,
        "culturesim_version": versions["culturesim"],
        "git_commit": git_commit(),
        "packages": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv),
        "started": (started or datetime.now(UTC)).isoformat(),
    }
