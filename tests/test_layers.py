"""The rooms keep their layering, the wheel owns one name, and the code stays ruff-clean.

The rooms live in top-level folders (``common/ data/ models/ training/ core/ tui/ faults/``) but install as
``recsys_tui.data`` … (setuptools ``package-dir``). import-linter walks a package's folder on disk,
so the contract test lays the tree out as it is installed (a copy under a temp folder) and runs
import-linter there through its module: it never skips.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
ROOMS = tuple(folder for name, folder in PACKAGE_DIR.items() if name != "recsys_tui")
"""Every room folder that installs under ``recsys_tui`` (read from pyproject, so it never goes stale)."""


def installed_layout(target: Path) -> Path:
    """Copy the sources into ``target/recsys_tui/...`` as the wheel installs them."""
    pkg = target / "recsys_tui"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "recsys_tui", pkg, ignore=ignore)
    for room in ROOMS:
        shutil.copytree(ROOT / room, pkg / room, ignore=ignore)
    return target


def test_import_contracts_hold(tmp_path):
    layout = installed_layout(tmp_path / "layout")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; "
         "sys.exit(c([sys.argv[1]]))", str(ROOT / "pyproject.toml")],
        cwd=layout, capture_output=True, text=True, env={"PYTHONPATH": str(layout), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module", ["recsys_tui.core.engine", "recsys_tui.training.pipeline",
                                    "recsys_tui.models.registry", "recsys_tui.data.cache"])
def test_rooms_below_tui_import_no_textual_at_run_time(module):
    """Harlequin-style import hygiene: what is really in ``sys.modules``, not what the source says."""
    code = (f"import sys, {module}\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext'))\n"
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_project_imports_do_not_leak_common_names():
    """From a neutral folder, ``import data`` (or models, core, …) is not this project."""
    code = ("import importlib.util, recsys_tui\n"
            f"print(','.join(n for n in {ROOMS!r} if importlib.util.find_spec(n) is not None))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""


@pytest.mark.slow
def test_built_wheel_installed_in_a_clean_venv_exposes_only_recsys_tui(tmp_path):
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in files.stdout.splitlines():
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(src)], check=True, capture_output=True)
    (wheel,) = wheels.glob("recsys_tui-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"recsys_tui"}
    assert any(n.endswith("recsys_tui/tui/app.tcss") for n in zipfile.ZipFile(wheel).namelist())
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("recsys_tui/webview/templates/app_index.html") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", purelib,
                    str(wheel)], check=True, capture_output=True)
    installed = {p.name for p in Path(purelib).iterdir() if not p.name.endswith(".dist-info")
                 and p.name not in ("__pycache__", "bin")}
    assert installed == {"recsys_tui"}
    code = ("import importlib.util as u; print(u.find_spec('recsys_tui.core') is not None, "
            "u.find_spec('recsys_tui.tui.screens') is not None, u.find_spec('data') is None)")
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["True", "True", "True"]
