"""Training pipeline: fit, evaluate against baselines, tune, replay, report, benchmark, publish.

May import ``core`` (to publish and to drive the engine in replays), ``models``, ``data`` and
``common``; never Textual, never the CLI. See docs/ARCHITECTURE.md §1 and docs/METHOD.md.
"""
