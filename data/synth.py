"""Synthetic data sets with the published shape of a MovieLens release (labelled synthetic).

``scale`` multiplies the users and the ratings; the catalogue grows with √scale (catalogues grow
slower than audiences, and a 1 % sample with 1 % of the films would be a quarter full). Shape:

* user activity: at least 20 ratings each (as GroupLens guarantees) plus a log-normal tail;
* item popularity: log-normal weights, so a few films collect most ratings (long tail);
* planted structure: up to 24 taste clusters (≥ ~300 films each); every user has a main and a
  second taste and draws 55 % of their films from the main, 20 % from the second, the rest from
  the whole catalogue; how much they like a film depends on the match, the film's quality and
  the user's leniency;
* ratings: those scores mapped by rank onto the release's published star histogram (halves for
  ML-10M and later, whole stars for ML-100K and ML-1M);
* timestamps: each user starts somewhere in the release's period and rates over a log-normal span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from recsys_tui.common.errors import DataError
from recsys_tui.data.formats import anonymous_users
from recsys_tui.data.movielens import Dataset, Interactions, Movie
from recsys_tui.data.registry import DATASETS, spec

N_CLUSTERS = 24
MIN_PER_USER = 20
TASTE_MIX = (0.55, 0.20, 0.25)  # main cluster, second cluster, anywhere
CLUSTER_GENRES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
    "Western", "IMAX",
)
# Published star histograms (share of ratings per star value).
HALF_STAR_SHARES = {0.5: 0.016, 1.0: 0.031, 1.5: 0.016, 2.0: 0.066, 2.5: 0.050, 3.0: 0.196,
                    3.5: 0.126, 4.0: 0.266, 4.5: 0.085, 5.0: 0.148}  # ML-25M
WHOLE_STAR_SHARES = {1.0: 0.056, 2.0: 0.108, 3.0: 0.261, 4.0: 0.349, 5.0: 0.226}  # ML-1M
PERIODS = {"ml-100k": (874_724_710, 893_286_638), "ml-1m": (956_703_932, 1_046_454_590),
           "ml-10m": (789_652_009, 1_231_131_736), "ml-20m": (789_652_009, 1_427_784_002),
           "ml-25m": (789_652_009, 1_574_327_703), "ml-32m": (789_652_009, 1_697_164_147),
           "ml-latest-small": (828_124_615, 1_537_799_250)}
SHAPES = {"ml-latest-small": (100_836, 610, 9_724)}


@dataclass(frozen=True)
class SynthShape:
    """Target counts of a synthetic set."""

    like: str
    scale: float
    ratings: int
    users: int
    items: int
    half_stars: bool

    def labels(self, seed: int) -> dict:
        """What the cache manifest says about the set (it is synthetic, and of what)."""
        return {"synthetic": True, "half_stars": self.half_stars, "like": self.like,
                "scale": self.scale, "seed": seed, "checked_by": "generated (counts recorded)"}


def shape(like: str, scale: float) -> SynthShape:
    """Target counts for ``scale`` × the release ``like``."""
    if like not in DATASETS:
        spec(like)  # raises the unknown-name error
    if not (isinstance(scale, int | float) and 1e-4 <= scale <= 4):
        raise DataError(f"--scale must be between 0.0001 and 4, got {scale}")
    release = DATASETS[like]
    ratings, users, items = SHAPES.get(like, (release.ratings, release.users, release.movies_rated))
    n_users = max(round(users * scale), 10)
    n_items = max(round(items * float(np.sqrt(scale))), 50)
    n_ratings = round(ratings * scale)
    n_ratings = int(np.clip(n_ratings, n_users * MIN_PER_USER, n_users * n_items // 2))
    return SynthShape(like, float(scale), n_ratings, n_users, n_items, release.half_stars)


def _activity(rng: np.random.Generator, target: SynthShape) -> np.ndarray:
    """Ratings per user: ≥ 20, log-normal tail, summing to the target, none above half the catalogue."""
    cap = max(MIN_PER_USER, target.items // 2)
    tail = rng.lognormal(0.0, 1.2, target.users)
    extra = target.ratings - MIN_PER_USER * target.users
    counts = MIN_PER_USER + np.floor(tail / tail.sum() * extra).astype(np.int64)
    counts = np.minimum(counts, cap)
    for _ in range(50):  # hand out what rounding and the cap left over, bounded
        short = target.ratings - int(counts.sum())
        room = np.flatnonzero(counts < cap)
        if short <= 0 or not len(room):
            break
        add = rng.choice(room, size=min(short, len(room)), replace=False)
        counts[add] += 1
    return counts


def _pick(rng: np.random.Generator, cdf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One item per row, drawn by weight from the contiguous item range whose cdf spans [lo, hi)."""
    return np.minimum(np.searchsorted(cdf, lo + rng.random(len(lo)) * (hi - lo), side="right"),
                      len(cdf) - 1)


def _star_map(scores: np.ndarray, half_stars: bool) -> np.ndarray:
    shares = HALF_STAR_SHARES if half_stars else WHOLE_STAR_SHARES
    stars = np.array(list(shares), dtype=np.float32)
    edges = np.cumsum(list(shares.values()))
    edges = edges / edges[-1]
    order = np.argsort(scores, kind="stable")
    rank = np.empty(len(scores), np.float64)
    rank[order] = (np.arange(len(scores)) + 0.5) / len(scores)
    return stars[np.minimum(np.searchsorted(edges, rank), len(stars) - 1)]


def generate(like: str = "ml-25m", scale: float = 0.1, seed: int = 0) -> tuple[Dataset, SynthShape]:
    """A synthetic data set shaped like ``like`` at ``scale`` (deterministic for a seed)."""
    target = shape(like, scale)
    rng = np.random.default_rng(seed)
    n_users, n_items = target.users, target.items
    # items: a cluster each; contiguous per cluster so one cdf serves every cluster
    n_clusters = int(np.clip(n_items // 300, 4, N_CLUSTERS))  # ≥ ~300 films per taste
    cluster_of_item = np.sort(rng.integers(0, n_clusters, n_items))
    weight = rng.lognormal(0.0, 2.0, n_items)
    cdf = np.cumsum(weight)
    starts = np.searchsorted(cluster_of_item, np.arange(n_clusters + 1))
    c_lo = np.where(starts[:-1] > 0, cdf[np.maximum(starts[:-1] - 1, 0)], 0.0)
    c_hi = np.where(starts[1:] > 0, cdf[np.maximum(starts[1:] - 1, 0)], 0.0)
    quality = rng.normal(0.0, 0.5, n_items)
    main = rng.integers(0, n_clusters, n_users)
    second = (main + rng.integers(1, n_clusters, n_users)) % n_clusters
    leniency = rng.normal(0.0, 0.4, n_users)
    want = _activity(rng, target)

    done_u: list[np.ndarray] = []
    done_i: list[np.ndarray] = []
    users = items = np.empty(0, np.int64)  # accepted rows of users still short
    need = want.copy()
    finished_users = np.zeros(n_users, bool)
    for round_ in range(16):  # draw, drop repeats, top up the users still short (bounded)
        margin = need // 20 + 1 if round_ < 8 else 3 * need + 1  # uniform rounds: ≤ half are repeats
        who = np.repeat(np.arange(n_users), need + (need > 0) * margin)
        if not len(who):
            break
        if round_ < 8:
            kind = rng.choice(3, size=len(who), p=TASTE_MIX)
            cluster = np.where(kind == 0, main[who], second[who])
            lo = np.where(kind == 2, 0.0, c_lo[cluster])
            hi = np.where(kind == 2, cdf[-1], c_hi[cluster])
            drawn = _pick(rng, cdf, lo, hi)
        else:  # heavy users who exhausted their tastes: the rest of the catalogue, evenly
            drawn = rng.integers(0, n_items, len(who))
        users, items = np.concatenate([users, who]), np.concatenate([items, drawn])
        _, first = np.unique(users * n_items + items, return_index=True)  # sorted by user
        users, items = users[first], items[first]
        rank = np.arange(len(users)) - np.searchsorted(users, users)
        keep = rank < want[users]  # within a user, items are in id order: cut at random instead
        if not keep.all():
            jitter = np.lexsort((rng.random(len(users)), users))
            users, items = users[jitter], items[jitter]
            keep = rank < want[users]
        users, items = users[keep], items[keep]
        need = np.where(finished_users, 0, want - np.bincount(users, minlength=n_users))
        finished_users |= need == 0
        finished = need[users] == 0
        done_u.append(users[finished])
        done_i.append(items[finished])
        users, items = users[~finished], items[~finished]
    users = np.concatenate([*done_u, users])
    items = np.concatenate([*done_i, items])
    match = np.where(cluster_of_item[items] == main[users], 1.2,
                     np.where(cluster_of_item[items] == second[users], 0.6, 0.0))
    score = match + quality[items] + leniency[users] + rng.normal(0.0, 0.8, len(users))
    ratings = _star_map(score, target.half_stars)
    t0, t1 = PERIODS.get(like, PERIODS["ml-25m"])
    start = rng.integers(t0, t1, n_users)
    span = np.minimum(rng.lognormal(np.log(30 * 86_400), 2.0, n_users), t1 - start)
    times = start[users] + (rng.random(len(users)) * span[users]).astype(np.int64)
    shuffle = rng.permutation(len(users))
    inter = Interactions.from_arrays(users[shuffle] + 1, items[shuffle] + 1, ratings[shuffle],
                                     times[shuffle])
    years = rng.integers(1920, 2020, n_items)
    movies = {
        int(i + 1): Movie(int(i + 1), f"Synthetic Movie {i + 1}", int(years[i]),
                          (CLUSTER_GENRES[cluster_of_item[i] % len(CLUSTER_GENRES)],))
        for i in range(n_items)
    }
    source = f"synthetic, shaped like {like} × {target.scale:g} (seed {seed})"
    return Dataset(inter, movies, anonymous_users(inter), source=source), target
