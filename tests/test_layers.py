"""Imports flow one way: engine <- run <- batch <- cli/viz (the contract in pyproject.toml).

`lint-imports` checks every import, those inside functions included, and that every module of
the package has its place in a layer. The other tests break a copy of the package on purpose,
so a contract that has stopped matching the code (a renamed layer, say) cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [*command, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_imports_keep_to_the_layers():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers: engine <- run <- batch <- cli/viz KEPT" in result.stdout


def copy_of_the_package(folder: Path) -> Path:
    shutil.copytree(REPO / "culturesim", folder / "culturesim")
    shutil.copy(REPO / "pyproject.toml", folder)
    return folder / "culturesim"


@pytest.mark.parametrize(
    "module, imported",
    [
        ("engine/cascades.py", "culturesim.run.outputs"),
        ("run/outputs.py", "culturesim.cli"),
        ("batch/analysis.py", "culturesim.viz.views"),
        ("viz/views.py", "culturesim.cli"),
        ("files.py", "culturesim.engine.scenario"),
    ],
)
def test_an_import_against_the_flow_breaks_the_contract(tmp_path, module, imported):
    target = copy_of_the_package(tmp_path) / module
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(existing + f"\n\ndef _against_the_flow():\n    import {imported}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    importer = "culturesim." + module.split("/")[0].removesuffix(".py")
    layer = ".".join(imported.split(".")[:2])
    assert f"{importer} is not allowed to import {layer}" in result.stdout, result.stdout


def test_a_new_module_must_be_given_its_layer(tmp_path):
    (copy_of_the_package(tmp_path) / "unplaced.py").write_text('"""Nowhere yet."""\n')
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "culturesim.unplaced" in result.stdout and "not listed as layers" in result.stdout
