"""The Textual app: screens, widgets, one ``.tcss``, bindings, command palette, pilot surface.

May import ``core`` (it asks the engine), ``data`` types and ``common``, and Textual; never touches
Redis, FAISS or implicit directly, never imports ``training``, ``api`` or the CLI.
See docs/ARCHITECTURE.md §1.
"""
