"""data/: parsers, deterministic splits, the canonical cache, local-path fetch, atomic writes."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from recsys_tui.common.errors import DataError
from recsys_tui.common.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    load_npz,
    publish_dir,
    save_npz,
    staging_dir,
)
from recsys_tui.data.cache import RECOVER, cache_dir, has_cache, load_cache, write_cache
from recsys_tui.data.fetch import fetch
from recsys_tui.data.movielens import GENRES, Dataset, Interactions, Movie, UserInfo
from recsys_tui.data.parsers import parse_interactions_text, parse_udata, parse_uitem, parse_uuser
from recsys_tui.data.sources import from_source
from recsys_tui.data.splits import stratified_split, temporal_split

# -- parsers ---------------------------------------------------------------------------------

ROWS = [(1, 10, 5.0, 881250949), (1, 20, 3.0, 881250950), (2, 10, 4.0, 881250951)]


def as_rows(inter: Interactions) -> list[tuple]:
    return [(int(u), int(i), float(r), int(t)) for u, i, r, t in
            zip(inter.user_ids, inter.item_ids, inter.ratings, inter.timestamps, strict=True)]


def test_udata_tabs_and_spaces():
    text = "1\t10\t5\t881250949\n1 20 3 881250950\n\n2\t10\t4\t881250951\n"
    inter = parse_udata(text)
    assert as_rows(inter) == ROWS
    assert inter.user_ids.dtype == np.int64 and inter.ratings.dtype == np.float32


@pytest.mark.parametrize("sep", [",", "\t"])
def test_csv_and_tsv_with_header(sep):
    lines = [sep.join(("user_id", "item_id", "rating", "timestamp"))]
    lines += [sep.join(str(v if not isinstance(v, float) else int(v)) for v in row) for row in ROWS]
    assert as_rows(parse_interactions_text("\n".join(lines) + "\n", "mine.csv")) == ROWS


def test_spreadsheet_csv_with_byte_order_mark_and_crlf():
    text = "\ufeffuser_id,item_id,rating,timestamp\r\n1,10,5,881250949\r\n1,20,3,881250950\r\n"
    assert as_rows(parse_interactions_text(text, "excel.csv")) == ROWS[:2]


def test_headerless_udata_through_the_generic_parser():
    text = "\n".join(" ".join(str(int(v)) for v in row) for row in ROWS)
    assert as_rows(parse_interactions_text(text)) == ROWS


@pytest.mark.parametrize(("text", "line", "words"), [
    ("user_id,item_id,rating,timestamp\n1,10,5,1\n2,x,4,2\n", 3, "item_id"),
    ("user_id,item_id,rating,timestamp\n1,10,5,1\n\n2,11,9,2\n", 4, "rating"),
    ("user_id,item_id,rating,timestamp\n1,10,5\n", 2, "expected 4 fields"),
    ("1 10 5 1\n2 11 4 2\n3 12 4 -5\n", 3, "timestamp"),
    ("1 10 5 1\n-2 11 4 2\n", 2, "user_id"),
    ("user,item,stars,when\n1,10,5,1\n", 1, "header"),
])
def test_malformed_line_is_named_by_number(text, line, words):
    with pytest.raises(DataError) as info:
        parse_interactions_text(text, "mine.csv")
    message = str(info.value)
    assert f"mine.csv, line {line}:" in message
    assert words in message
    assert "\n" not in message


def test_malformed_udata_names_the_line():
    with pytest.raises(DataError, match=r"u\.data, line 2: rating must be a number"):
        parse_udata("1\t10\t5\t881250949\n1\t20\tfive\t881250950\n")


@pytest.mark.parametrize("text", ["", "\n\n", "user_id,item_id,rating,timestamp\n", "a\x00b"])
def test_empty_or_binary_files_are_refused(text):
    with pytest.raises(DataError):
        parse_interactions_text(text, "x.csv")


def test_uitem_and_uuser():
    flags = ["0"] * len(GENRES)
    flags[GENRES.index("Comedy")] = flags[GENRES.index("Animation")] = "1"
    movies = parse_uitem("1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n")
    assert movies[1] == Movie(1, "Toy Story", 1995, ("Animation", "Comedy"))
    users = parse_uuser("7|57|M|administrator|91344\n")
    assert users[7] == UserInfo(7, 57, "M", "administrator", "91344")
    with pytest.raises(DataError, match=r"u\.item, line 2"):
        parse_uitem("1|A (1995)|||x|" + "|".join(flags) + "\n2|B|x\n")


# -- splits ----------------------------------------------------------------------------------

def synthetic(seed: int = 0, n_users: int = 30, n_items: int = 200) -> Interactions:
    """Users with 2–40 ratings each, distinct items per user, distinct timestamps."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(1, n_users + 1):
        n = int(rng.integers(2, min(41, n_items + 1)))
        users += [u] * n
        items += rng.choice(np.arange(1, n_items + 1), n, replace=False).tolist()
    n = len(users)
    times = rng.permutation(n) + 1_000_000
    return Interactions.from_arrays(users, items, rng.integers(1, 6, n), times)


def keys_of(inter: Interactions) -> list[tuple[int, int]]:
    return list(zip(inter.user_ids.tolist(), inter.item_ids.tolist(), strict=True))


def test_stratified_split_is_per_user_75_25_disjoint_and_complete():
    inter = synthetic()
    train, test = stratified_split(inter, 0.25, seed=42)
    all_keys, tr, te = keys_of(inter), keys_of(train), keys_of(test)
    assert not set(tr) & set(te)
    assert sorted(tr + te) == sorted(all_keys)
    for u in np.unique(inter.user_ids):
        n = int((inter.user_ids == u).sum())
        n_train = int((train.user_ids == u).sum())
        assert n_train == min(max(round(0.75 * n), 1), n - 1), (u, n, n_train)
        assert (test.user_ids == u).sum() >= 1


def test_stratified_split_is_deterministic_by_seed():
    inter = synthetic()
    a, _ = stratified_split(inter, seed=42)
    b, _ = stratified_split(inter, seed=42)
    c, _ = stratified_split(inter, seed=43)
    assert keys_of(a) == keys_of(b)
    assert sorted(keys_of(a)) != sorted(keys_of(c))


def test_stratified_split_refuses_bad_fractions():
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            stratified_split(synthetic(), bad)


def test_temporal_split_takes_the_first_80_percent_by_time():
    inter = synthetic(seed=3)
    train, test = temporal_split(inter, 0.8)
    assert len(train) == int(np.floor(0.8 * len(inter)))
    assert train.timestamps.max() < test.timestamps.min()
    assert not set(keys_of(train)) & set(keys_of(test))
    assert sorted(keys_of(train) + keys_of(test)) == sorted(keys_of(inter))
    again, _ = temporal_split(inter, 0.8)
    assert keys_of(again) == keys_of(train)


# -- the canonical cache ---------------------------------------------------------------------

def tiny_dataset() -> Dataset:
    inter = synthetic(n_users=5, n_items=8)
    movies = {i: Movie(i, f"Movie {i}", 1990 + i, ("Drama",) if i % 2 else ("Comedy", "Romance"))
              for i in range(1, 9)}
    users = {u: UserInfo(u, 20 + u, "F" if u % 2 else "M", "writer", f"0000{u}") for u in range(1, 6)}
    return Dataset(inter, movies, users, source="synthetic")


def test_cache_round_trip(tmp_path):
    ds = tiny_dataset()
    write_cache(tmp_path, ds)
    assert has_cache(tmp_path)
    back = load_cache(tmp_path)
    assert as_rows(back.interactions) == as_rows(ds.interactions)
    assert back.movies == ds.movies and back.users == ds.users
    assert back.source == "synthetic" and len(back.content_hash) == 64
    assert [p.name for p in tmp_path.iterdir()] == [cache_dir(tmp_path).name]  # no staging left


@pytest.mark.parametrize("damage", ["flip-npz", "truncate-npz", "edit-json", "manifest", "missing"])
def test_corrupt_cache_is_one_line_naming_the_fix(tmp_path, damage):
    write_cache(tmp_path, tiny_dataset())
    folder = cache_dir(tmp_path)
    if damage == "flip-npz":
        raw = bytearray((folder / "ratings.npz").read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (folder / "ratings.npz").write_bytes(bytes(raw))
    elif damage == "truncate-npz":
        path = folder / "ratings.npz"
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "edit-json":
        (folder / "movies.json").write_text((folder / "movies.json").read_text().replace("Movie 3", "M 3"))
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    else:
        (folder / "users.json").unlink()
    with pytest.raises(DataError) as info:
        load_cache(tmp_path)
    message = str(info.value)
    assert "recsys-tui data fetch --force" in message and RECOVER in message
    assert "\n" not in message


def test_missing_cache_says_to_fetch(tmp_path):
    with pytest.raises(DataError, match="recsys-tui data fetch"):
        load_cache(tmp_path / "nothing")


# -- fetch from a local path -------------------------------------------------------------------

def write_grouplens_folder(folder: Path, udata: str | None = None) -> Path:
    folder.mkdir(parents=True)
    flags = "|".join(["0"] * (len(GENRES) - 1) + ["1"])
    (folder / "u.data").write_text(udata or "1\t1\t5\t10\n1\t2\t3\t11\n2\t1\t4\t12\n", encoding="latin-1")
    (folder / "u.item").write_text(f"1|A (1990)|||x|{flags}\n2|B (1991)|||x|{flags}\n", encoding="latin-1")
    (folder / "u.user").write_text("1|30|F|writer|11111\n2|40|M|artist|22222\n", encoding="latin-1")
    return folder


def test_local_folder_and_zip_sources_parse(tmp_path):
    folder = write_grouplens_folder(tmp_path / "ml-100k")
    ds = from_source(str(folder))
    assert as_rows(ds.interactions) == [(1, 1, 5.0, 10), (1, 2, 3.0, 11), (2, 1, 4.0, 12)]
    assert set(ds.movies) == {1, 2} and ds.movies[1].genres == ("Western",)
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("u.data", "u.item", "u.user"):
            zf.write(folder / name, f"ml-100k/{name}")
    assert as_rows(from_source(str(archive)).interactions) == as_rows(ds.interactions)


def test_fetch_of_a_wrong_local_dataset_writes_nothing(tmp_path):
    """A tiny file set parses but is not MovieLens-100K: verification fails, no cache appears."""
    folder = write_grouplens_folder(tmp_path / "tiny")
    data_root = tmp_path / "data"
    with pytest.raises(DataError, match="expected 100,000 ratings"):
        fetch(data_root, str(folder))
    assert not has_cache(data_root)
    assert not data_root.exists() or list(data_root.iterdir()) == []


def test_fetch_of_a_malformed_local_file_names_the_line(tmp_path):
    folder = write_grouplens_folder(tmp_path / "bad", udata="1\t1\t5\t10\n1\t2\t3\n")
    with pytest.raises(DataError, match=r"u\.data, line 2: expected 4 fields"):
        fetch(tmp_path / "data", str(folder))
    assert not has_cache(tmp_path / "data")


@pytest.mark.parametrize("what", ["missing", "not-zip", "empty-folder"])
def test_unusable_local_sources(tmp_path, what):
    path = tmp_path / "src"
    if what == "not-zip":
        path.write_bytes(b"this is no zip")
    elif what == "empty-folder":
        path.mkdir()
    with pytest.raises(DataError) as info:
        from_source(str(path))
    assert str(path) in str(info.value)


# -- atomic writes -----------------------------------------------------------------------------

def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_write_failure_keeps_the_old_file_whole(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"v": 1})
    with pytest.raises(TypeError):
        atomic_write_bytes(path, None)  # type: ignore[arg-type]  # fails after the temp file exists
    with pytest.raises(TypeError):
        atomic_write_json(path, {"v": object()})
    assert json.loads(path.read_text()) == {"v": 1}
    assert leftovers(tmp_path) == []


def test_atomic_write_onto_a_folder_fails_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "taken", b"data")
    assert leftovers(tmp_path) == []


def test_save_npz_round_trip_and_refuses_object_arrays(tmp_path):
    path = tmp_path / "a.npz"
    save_npz(path, x=np.arange(5), y=np.eye(2, dtype=np.float32))
    back = load_npz(path)
    assert back["x"].tolist() == [0, 1, 2, 3, 4] and back["y"].dtype == np.float32
    with pytest.raises(TypeError, match="pickle"):
        save_npz(path, z=np.array([{"a": 1}], dtype=object))
    assert load_npz(path)["x"].tolist() == [0, 1, 2, 3, 4]
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="not a valid npz"):
        load_npz(path)


def test_failed_staging_leaves_the_published_folder_untouched(tmp_path):
    final = tmp_path / "pub"
    with staging_dir(tmp_path, "pub") as staged:
        (staged / "f").write_text("one")
        publish_dir(staged, final)
    with pytest.raises(RuntimeError), staging_dir(tmp_path, "pub") as staged:
        (staged / "f").write_text("two, half-writ")
        raise RuntimeError("crash before publish")
    assert (final / "f").read_text() == "one"
    assert os.listdir(tmp_path) == ["pub"]


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    """mkstemp makes 0600 files; published files get what open() would give under the umask."""
    from recsys_tui.common.fsutil import atomic_write_bytes

    mask = os.umask(0)
    os.umask(mask)
    target, plain = tmp_path / "CURRENT", tmp_path / "plain"
    atomic_write_bytes(target, b"v0001\n")
    plain.write_bytes(b"x")
    assert target.read_bytes() == b"v0001\n"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~mask
