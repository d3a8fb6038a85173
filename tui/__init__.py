"""The Textual app: screens, widgets, one ``.tcss``, bindings, command palette, pilot surface.

Asks the engine (``core``) and may use ``data`` types and ``common``; never touches Redis, FAISS or
implicit directly and never imports the CLI. See docs/ARCHITECTURE.md §1.
"""
