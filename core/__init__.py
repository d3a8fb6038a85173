"""The online engine: event log, feature store, vector index, artifacts, home and the engine facade.

May import ``models``, ``data`` and ``common`` (and redis, FAISS, numpy); never Textual, never the CLI.
See docs/ARCHITECTURE.md §1–2.
"""
