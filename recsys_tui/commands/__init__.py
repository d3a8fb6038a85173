"""The ``recsys-tui`` commands: one module per command or command group, each a typer app.

A module declares ``app = command_app()`` (``recsys_tui.options``) and its commands as plain
module-level functions decorated ``@app.command("name")``, whose docstrings are their help; a
group module declares ``app = command_app(name="group", help=...)``. ``recsys_tui.command_index``
lists them from the source, so a new module here is a new command with no other list to edit.
Heavy imports (NumPy, the engine, the pipeline) go inside the function bodies: importing a command
module stays cheap, and tests/test_startup.py holds that. No command imports another command's
module; what several share lives in ``recsys_tui.options``, ``recsys_tui.usage``,
``recsys_tui.context`` and ``recsys_tui.output``.
"""
