"""What the app needs to know about a data set's ratings without reading them: per-item counts and
sums, per-user counts and liked genres. Computed once with array operations (no per-rating
Python) and kept beside the cache (``summary.npz``), tied to the ratings file's sha256, so opening
the engine on MovieLens-25M reads a few megabytes instead of 25 million ratings.

A summary that is missing, of another ratings file, or malformed is computed again and rewritten
(atomically); it is never trusted beyond its shapes and the ratings file it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from recsys_tui.common.fsutil import load_npz, save_npz
from recsys_tui.data.movielens import GENRES, Dataset, Movie
from recsys_tui.data.vocab import IdMap

SUMMARY_FILE = "summary.npz"
SUMMARY_FORMAT = 1
LIKED = 4.0
"""A rating from this many stars on counts as liking the film (favourite genres)."""


def genre_columns(movies: dict[int, Movie]) -> tuple[str, ...]:
    """The genres the movies name: MovieLens' own order first, then any others sorted."""
    found = {g for m in movies.values() for g in m.genres}
    return tuple(g for g in GENRES if g in found) + tuple(sorted(found - set(GENRES)))


def ids_and_counts(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct ids and how often each occurs (a bincount for small ids, else a sort)."""
    raw = np.asarray(raw, dtype=np.int64)
    if len(raw) and int(raw.min()) >= 0 and int(raw.max()) < 4 * len(raw) + 1024:
        counts = np.bincount(raw)
        ids = np.flatnonzero(counts)
        return ids.astype(np.int64), counts[ids].astype(np.int64)
    ids, counts = np.unique(raw, return_counts=True)
    return ids, counts.astype(np.int64)


@dataclass(frozen=True)
class RatingSummary:
    """Per-item and per-user statistics of one ratings file."""

    item_ids: np.ndarray
    """Every movie id of the catalogue, sorted (rows of the item arrays)."""
    n_ratings: np.ndarray
    rating_sums: np.ndarray
    user_ids: np.ndarray
    """Sorted ids of the users with at least one rating (rows of the user arrays)."""
    user_counts: np.ndarray
    genres: tuple[str, ...]
    liked: np.ndarray
    """users × genres: how many films of each genre the user rated ``LIKED`` or more."""


def summarise(dataset: Dataset) -> RatingSummary:
    """The summary of ``dataset``'s ratings (array operations only)."""
    movies, inter = dataset.movies, dataset.interactions
    item_ids = np.fromiter(sorted(movies), np.int64, len(movies))
    pos = IdMap(item_ids).indices(inter.item_ids) if len(item_ids) \
        else np.full(len(inter.item_ids), -1, np.int64)
    ok = pos >= 0
    n_ratings = np.bincount(pos[ok], minlength=len(item_ids)).astype(np.int64)
    sums = np.bincount(pos[ok], weights=inter.ratings[ok], minlength=len(item_ids))
    user_ids, user_counts = ids_and_counts(inter.user_ids)
    genres = genre_columns(movies)
    liked = (np.asarray(inter.ratings) >= LIKED) & ok
    rows = IdMap(user_ids).indices(inter.user_ids[liked]) if len(user_ids) else np.zeros(0, np.int64)
    likes = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, pos[liked])),
                          shape=(len(user_ids), len(item_ids)))
    col = {g: n for n, g in enumerate(genres)}
    r = [n for n, i in enumerate(item_ids.tolist()) for _ in movies[i].genres]
    c = [col[g] for i in item_ids.tolist() for g in movies[i].genres]
    genre_of = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(item_ids), len(genres)))
    counts = np.rint((likes @ genre_of).toarray()).astype(np.int32)
    return RatingSummary(item_ids, n_ratings, sums.astype(np.float64), user_ids, user_counts, genres,
                         counts)


def save_summary(folder: Path, summary: RatingSummary, ratings_sha256: str) -> None:
    """Write ``summary.npz`` atomically, naming the ratings file it was computed from."""
    save_npz(folder / SUMMARY_FILE, format=np.array(SUMMARY_FORMAT),
             ratings_sha256=np.array(ratings_sha256), item_ids=summary.item_ids,
             n_ratings=summary.n_ratings, rating_sums=summary.rating_sums, user_ids=summary.user_ids,
             user_counts=summary.user_counts, genres=np.array(summary.genres, dtype=str),
             liked=summary.liked)


def load_summary(folder: Path, ratings_sha256: str, movies: dict[int, Movie]) -> RatingSummary | None:
    """The saved summary when it belongs to this ratings file and catalogue, else None."""
    path = folder / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        a = load_npz(path)
        if int(a["format"]) != SUMMARY_FORMAT or str(a["ratings_sha256"]) != ratings_sha256:
            return None
        genres = tuple(str(g) for g in a["genres"].reshape(-1))
        summary = RatingSummary(a["item_ids"].astype(np.int64), a["n_ratings"].astype(np.int64),
                                a["rating_sums"].astype(np.float64), a["user_ids"].astype(np.int64),
                                a["user_counts"].astype(np.int64), genres, a["liked"].astype(np.int32))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    n_items, n_users = len(summary.item_ids), len(summary.user_ids)
    shapes_ok = (summary.n_ratings.shape == summary.rating_sums.shape == (n_items,)
                 and summary.user_counts.shape == (n_users,)
                 and summary.liked.shape == (n_users, len(genres)))
    if not shapes_ok or genres != genre_columns(movies) or n_items != len(movies):
        return None
    if not np.array_equal(summary.item_ids, np.fromiter(sorted(movies), np.int64, len(movies))):
        return None
    if (summary.n_ratings < 0).any() or (summary.user_counts < 0).any() or (summary.liked < 0).any():
        return None
    return summary
