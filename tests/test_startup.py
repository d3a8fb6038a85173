"""Start-up: ``--version`` and ``--help`` import no heavy library and no command module; the command
index (what ``--help`` lists) agrees with the commands typer builds from the modules (issue 11, 14)."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from recsys_tui.cli import main

HEAVY = ("numpy", "scipy", "pandas", "implicit", "faiss", "textual", "redis", "fakeredis")

PROBE = f"""
import json, sys
from recsys_tui.cli import main
main(["--version"])
main(["--help"])
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]
                 + [m for m in sys.modules if m.startswith("recsys_tui.commands.")]))
"""


def test_version_and_help_import_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "recsys-tui " in out.stdout and "Commands:" in out.stdout
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_fast_help_is_the_registered_apps_help(capsys, monkeypatch):
    """The fast --help (from the index) is the help of a group holding every real command."""
    from typer.core import TyperGroup

    from recsys_tui.cli import app
    from recsys_tui.command_index import command_index, load

    monkeypatch.setenv("COLUMNS", "100")
    assert main(["--help"]) == 0
    fast = capsys.readouterr().out
    root = typer.main.get_command(app)
    full = TyperGroup(name=root.name, help=root.help, params=root.params,
                      commands={e.name: load(e) for e in command_index()},
                      context_settings=root.context_settings, rich_markup_mode=None)
    with full.make_context("recsys-tui", [], resilient_parsing=True) as ctx:
        assert fast == full.get_help(ctx) + "\n"


def test_index_agrees_with_the_commands_typer_builds():
    """Every command module's commands, imported and built by typer, are exactly the index."""
    import importlib

    from recsys_tui.command_index import FOLDER, command_index

    built = {}
    for path in sorted(FOLDER.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_app = importlib.import_module(f"recsys_tui.commands.{path.stem}").app
        group = typer.main.get_group(module_app)
        members = {group.name: group} if module_app.info.name else group.commands
        assert members, f"{path.name} declares no command the index can find"
        built.update({name: cmd.help for name, cmd in members.items()})
    assert {e.name: e.help for e in command_index()} == built


def test_command_modules_import_nothing_heavy():
    """A command module's heavy imports are inside its functions: ``COMMAND --help`` stays fast."""
    code = ("import json, pkgutil, importlib, sys, recsys_tui.commands as pkg\n"
            "for m in pkgutil.iter_modules(pkg.__path__):\n"
            "    importlib.import_module(f'recsys_tui.commands.{m.name}')\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_help_texts_name_every_model_and_index_kind(capsys):
    """Help that lists choices without importing the rooms names all of them."""
    from recsys_tui.core.index import INDEX_KINDS
    from recsys_tui.models.registry import MODEL_NAMES

    for command, names in (("train", (*MODEL_NAMES, *INDEX_KINDS)), ("bench", INDEX_KINDS)):
        assert main([command, "--help"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        missing = [n for n in names if n not in out]
        assert not missing, (command, missing)


def test_unknown_command_suggests_the_nearest(capsys):
    assert main(["rat", "-u", "1"]) == 2
    err = capsys.readouterr().err
    assert "No such command 'rat'" in err and "'rate'" in err and err.count("\n") == 1


def test_a_command_imports_only_its_own_module():
    """``rate --help`` loads the module holding ``rate``; no command at all (the app, refused here
    without a terminal) loads none."""
    code = ("import json, sys, contextlib, io\n"
            "from recsys_tui.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "    rcs = [main([]), main(['rate', '--help'])]\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('recsys_tui.commands.'))\n"
            "print(json.dumps([rcs, loaded]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    rcs, loaded = json.loads(out.stdout)
    assert rcs == [2, 0] and loaded == ["recsys_tui.commands.online"]
