"""The MovieLens family: what each published data set is, where it lives and how to check it.

Counts are GroupLens' own (each set's README); ``ml-latest-small`` changes with every refresh, so
it is checked by its published md5 alone and its counts are recorded, not required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recsys_tui.common.errors import DataError

BASE_URL = "https://files.grouplens.org/datasets/movielens/"
DEFAULT_DATASET = "ml-100k"
SYNTH_PREFIX = "synth-"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class DatasetSpec:
    """One published MovieLens release."""

    name: str
    zip_name: str
    folder: str
    layout: str  # "u.data" (ML-100K), "dat" (:: separated), "csv" (header, quoted titles)
    encoding: str
    half_stars: bool
    ratings: int | None
    users: int | None
    movies_rated: int | None = None
    has_users_table: bool = False

    @property
    def url(self) -> str:
        return BASE_URL + self.zip_name

    @property
    def md5_url(self) -> str:
        """GroupLens publishes ``<zip>.md5`` beside the newer archives."""
        return self.url + ".md5"


DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec("ml-100k", "ml-100k.zip", "ml-100k", "u.data", "latin-1", False, 100_000, 943, 1_682,
                    True),
        DatasetSpec("ml-latest-small", "ml-latest-small.zip", "ml-latest-small", "csv", "utf-8", True,
                    None, None),
        DatasetSpec("ml-1m", "ml-1m.zip", "ml-1m", "dat", "latin-1", False, 1_000_209, 6_040, 3_706, True),
        DatasetSpec("ml-10m", "ml-10m.zip", "ml-10M100K", "dat", "utf-8", True, 10_000_054, 69_878, 10_677),
        DatasetSpec("ml-20m", "ml-20m.zip", "ml-20m", "csv", "utf-8", True, 20_000_263, 138_493, 26_744),
        DatasetSpec("ml-25m", "ml-25m.zip", "ml-25m", "csv", "utf-8", True, 25_000_095, 162_541, 59_047),
        DatasetSpec("ml-32m", "ml-32m.zip", "ml-32m", "csv", "utf-8", True, 32_000_204, 200_948, 84_432),
    )
}
DATASET_NAMES = tuple(DATASETS)


def check_name(name: str) -> str:
    """A data set name usable as a folder (published names, or a synthetic set's own name)."""
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise DataError(f"data set name {str(name)[:40]!r} must be 1–64 of a-z 0-9 . _ - "
                        f"(e.g. {', '.join(DATASET_NAMES)})")
    return name


def spec(name: str) -> DatasetSpec:
    """The published release called ``name`` or ``DataError`` listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown data set {name[:40]!r}; choose one of {', '.join(DATASET_NAMES)} "
                        f"(or make one with `recsys-tui data synth`)") from None
