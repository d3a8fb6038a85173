"""``python -m recsys_tui`` is the same as the ``recsys-tui`` command."""

from recsys_tui.cli import entry

entry()
