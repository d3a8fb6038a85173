"""MovieLens-100K: fetch, verify, parse, the canonical on-disk cache, id vocabularies and splits.

May import ``common``, numpy and pandas only. See docs/ARCHITECTURE.md §1.
"""

from recsys_tui.common.errors import DataError, RecsysError
from recsys_tui.data.movielens import GENRES, Dataset, Interactions, Movie, UserInfo

__all__ = [
    "GENRES",
    "DataError",
    "Dataset",
    "Interactions",
    "Movie",
    "RecsysError",
    "UserInfo",
]
