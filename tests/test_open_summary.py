"""The engine opens on the ratings' saved summary and reads the ratings only when needed; the
summary equals what the ratings give, and a stale or damaged one is computed again."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.common.errors import DataError
from recsys_tui.core.catalogue import Catalogue
from recsys_tui.core.engine import Engine
from recsys_tui.data.cache import LazyInteractions, cache_dir, load_cache, summary
from recsys_tui.data.summary import SUMMARY_FILE, load_summary, save_summary, summarise


def test_engine_opens_without_reading_the_ratings_and_matches_the_full_catalogue(home):
    Engine.open(home).close()  # the first open computes the summary (reading the ratings) and saves it
    assert (cache_dir(home.data) / SUMMARY_FILE).is_file()
    engine = Engine.open(home)
    try:
        inter = engine.dataset.interactions
        assert isinstance(inter, LazyInteractions)
        users = engine.users()
        engine.search("star wars")
        engine.recommend(1)
        assert not inter.loaded and len(inter) == 100_000
        full = Catalogue(load_cache(home.data))
        assert np.array_equal(engine.catalogue.n_ratings, full.n_ratings)
        assert np.allclose(engine.catalogue.avg_rating, full.avg_rating)
        assert engine.catalogue.user_counts == full.user_counts
        assert users[:943] == full.user_summaries(sorted(full.users))
        assert np.array_equal(inter.user_ids, full_ids := load_cache(home.data).interactions.user_ids)
        assert inter.loaded and len(full_ids) == 100_000
    finally:
        engine.close()


def test_a_summary_of_other_ratings_or_damaged_is_computed_again(home):
    data = load_cache(home.data)
    folder = cache_dir(home.data)
    digest = data.info["sha256"]["ratings.npz"]
    right = summarise(data)
    path = folder / SUMMARY_FILE
    save_summary(folder, right, "0" * 64)  # another ratings file's
    assert load_summary(folder, digest, data.movies) is None
    again = summary(home.data, data)
    assert np.array_equal(again.n_ratings, right.n_ratings)
    assert load_summary(folder, digest, data.movies) is not None  # rewritten for this file
    bad = summarise(data)
    object.__setattr__(bad, "liked", bad.liked[:, :3])  # wrong shape
    save_summary(folder, bad, digest)
    assert load_summary(folder, digest, data.movies) is None
    path.write_bytes(b"not an npz")
    assert load_summary(folder, digest, data.movies) is None
    assert np.array_equal(summary(home.data, data).liked, right.liked)
    negative = summarise(data)
    object.__setattr__(negative, "n_ratings", -negative.n_ratings)
    save_summary(folder, negative, digest)
    assert load_summary(folder, digest, data.movies) is None


def test_lazy_ratings_are_verified_when_first_read(home):
    data = load_cache(home.data, lazy_ratings=True)
    assert len(data.interactions) == 100_000 and not data.interactions.loaded
    ratings = cache_dir(home.data) / "ratings.npz"
    raw = bytearray(ratings.read_bytes())
    raw[-100] ^= 0xFF
    ratings.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt"):
        _ = data.interactions.user_ids
    with pytest.raises(AttributeError):
        _ = data.interactions.no_such_field


def test_an_undo_of_a_data_set_rating_reads_the_ratings(home):
    engine = Engine.open(home)
    try:
        idx, ratings = engine.trained.history(1)
        item = int(engine.items.ids[idx[0]])
        engine.rate(1, item, 1.0)
        engine.undo_last(1)
        assert engine.user_arrays(1)[1][0] == pytest.approx(float(ratings[0]))
    finally:
        engine.close()


def test_a_written_cache_carries_its_summary(ml100k_data, tmp_path):
    from recsys_tui.data.cache import write_cache

    data = load_cache(ml100k_data)
    write_cache(tmp_path, data, "copy")
    written = load_cache(tmp_path, name="copy", lazy_ratings=True)
    found = load_summary(cache_dir(tmp_path, "copy"), written.info["sha256"]["ratings.npz"], written.movies)
    assert found is not None and not written.interactions.loaded
    assert np.array_equal(found.liked, summarise(data).liked)
