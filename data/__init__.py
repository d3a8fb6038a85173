"""MovieLens data sets: fetch, verify, parse, the canonical cache, vocabularies, splits, synthetic sets.

May import ``common``, numpy and pandas only. See docs/ARCHITECTURE.md §1.
"""
