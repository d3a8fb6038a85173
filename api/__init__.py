"""The HTTP face of the engine (FastAPI): recommend, record events, similar items, history, metrics.

It sits beside ``tui`` and asks the engine only; neither face imports the other.
"""
