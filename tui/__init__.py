"""Textual terminal app: asks the engine, never the stores or models directly."""
