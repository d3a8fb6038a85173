"""recsys-tui: a terminal recommender that visibly learns while you use it.

This package is the CLI layer: ``cli`` (the root command and the error → exit code rule),
``command_index`` (the command list read from the modules' source), ``commands`` (one module per
command or group), ``options``/``usage``/``context``/``output`` (what the commands share), the app
factory shared by the CLI, the demo and the tests, the demo's runner, and the web view. The rooms
install beneath it from their own top-level folders: ``recsys_tui.common``, ``.data``, ``.models``,
``.training``, ``.core``, ``.tui``, ``.api`` and ``.faults`` (docs/ARCHITECTURE.md §1). It may
import every room; no room imports it.
"""

__version__ = "0.1.0"
