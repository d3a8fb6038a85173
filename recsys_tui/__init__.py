"""recsys-tui: a terminal recommender that visibly learns while you use it.

This package is the CLI layer (typer commands in ``recsys_tui.commands``, the app factory shared by
the CLI, the demo pilot and the tests). The rooms install beneath it from their own top-level
folders: ``recsys_tui.common``, ``.data``, ``.models``, ``.training``, ``.core``, ``.tui`` and
``.faults`` (docs/ARCHITECTURE.md §1). It may import every room; no room imports it.
"""

__version__ = "0.1.0"
