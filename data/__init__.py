"""MovieLens-100K: fetch, verify, parse, the canonical on-disk cache, id vocabularies and splits."""

from data.errors import DataError, RecsysError
from data.movielens import GENRES, Dataset, Interactions, Movie, UserInfo

__all__ = [
    "GENRES",
    "DataError",
    "Dataset",
    "Interactions",
    "Movie",
    "RecsysError",
    "UserInfo",
]
