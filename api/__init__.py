"""The HTTP face of the engine (FastAPI): recommend, record events, similar items, history, metrics.

It sits beside ``tui`` and asks the engine only: it may import ``core``, ``models``, ``data`` and
``common`` (and FastAPI, uvicorn, prometheus-client, aiohttp for the load test); never ``tui`` or
Textual, never ``training``, never the CLI. Neither face imports the other.
"""
