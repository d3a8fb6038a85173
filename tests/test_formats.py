"""Parsers for every published MovieLens layout, on small files written here in the exact format."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from recsys_tui.common.errors import DataError
from recsys_tui.data.cache import has_cache, load_cache
from recsys_tui.data.fetch import fetch, half_stars
from recsys_tui.data.formats import (
    parse_movies_csv,
    parse_movies_dat,
    parse_ratings_csv,
    parse_ratings_dat,
    parse_users_dat,
)
from recsys_tui.data.registry import DATASETS, check_name
from recsys_tui.data.releases import read_release

ML1M_MOVIES = (
    "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "2::Città delle donne, La (City of Women) (1980)::Drama\n"
    "3::Part One:: The Reckoning (1999)::Action|Sci-Fi\n"
)
ML1M_RATINGS = "1::1::5::978300760\n1::2::3::978302109\n2::3::4::978301968\n2::1::1::978300275\n"
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::70072\n"
ML10M_RATINGS = "1::1::5::838985046\n1::2::4.5::838983525\n2::3::0.5::838983392\n"
CSV_RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,3.5,964981247\n2,12,0.5,964982224\n"
CSV_MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '11,"American President, The (1995)",Comedy|Drama|Romance\n'
    '12,"Bad ""Quoted"" Title, A :: Story (2001)",(no genres listed)\n'
    '13,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance\n'
)


def test_dat_movies_keep_latin1_titles_and_double_colons():
    movies = parse_movies_dat(ML1M_MOVIES.encode("latin-1").decode("latin-1"))
    assert movies[1].title == "Toy Story" and movies[1].year == 1995
    assert movies[1].genres == ("Animation", "Children's", "Comedy")
    assert movies[2].title == "Città delle donne, La (City of Women)" and movies[2].year == 1980
    assert movies[3].title == "Part One:: The Reckoning" and movies[3].genres == ("Action", "Sci-Fi")


def test_dat_ratings_whole_and_half_stars():
    inter = parse_ratings_dat(ML1M_RATINGS)
    assert inter.user_ids.tolist() == [1, 1, 2, 2] and inter.ratings.tolist() == [5, 3, 4, 1]
    assert inter.timestamps[0] == 978300760
    halves = parse_ratings_dat(ML10M_RATINGS, half_stars=True)
    assert halves.ratings.tolist() == [5.0, 4.5, 0.5]
    with pytest.raises(DataError, match="whole stars"):
        parse_ratings_dat(ML10M_RATINGS, "ratings.dat", half_stars=False)


def test_dat_bad_line_is_named():
    with pytest.raises(DataError, match=r"ratings\.dat, line 2: rating must be"):
        parse_ratings_dat("1::1::5::978300760\n1::2::x::978302109\n")
    with pytest.raises(DataError, match="line 1: expected 4 fields"):
        parse_ratings_dat("1::1::5\n")
    with pytest.raises(DataError, match="line 2: expected MovieID::Title::Genres"):
        parse_movies_dat("1::Toy Story (1995)::Comedy\n2 Heat (1995)\n")


def test_users_dat_maps_occupation_codes():
    users = parse_users_dat(ML1M_USERS)
    assert users[1].gender == "F" and users[1].age == 1 and users[1].occupation == "K-12 student"
    assert users[2].occupation == "self-employed" and users[2].zip_code == "70072"
    with pytest.raises(DataError, match="occupation code 21"):
        parse_users_dat("3::M::25::21::55117\n")


def test_csv_movies_quotes_commas_and_no_genres():
    movies = parse_movies_csv(CSV_MOVIES)
    assert movies[11].title == "American President, The" and movies[11].year == 1995
    assert movies[12].title == 'Bad "Quoted" Title, A :: Story' and movies[12].genres == ()
    assert movies[13].title.startswith("Amélie") and movies[13].year == 2001
    with pytest.raises(DataError, match="header must be movieId,title,genres"):
        parse_movies_csv("id,title,genres\n1,A (1995),Drama\n")
    with pytest.raises(DataError, match="line 2: expected 3 fields"):
        parse_movies_csv("movieId,title,genres\n1,A, B (1995),Drama\n")
    with pytest.raises(DataError, match="appears twice"):
        parse_movies_csv("movieId,title,genres\n1,A (1995),Drama\n1,B (1996),Drama\n")


def test_csv_ratings_header_halves_and_bad_rows():
    inter = parse_ratings_csv(CSV_RATINGS)
    assert inter.ratings.tolist() == [4.0, 3.5, 0.5] and inter.item_ids.tolist() == [1, 11, 12]
    with pytest.raises(DataError, match="header must be userId,movieId,rating,timestamp"):
        parse_ratings_csv("1,1,4.0,964982703\n")
    with pytest.raises(DataError, match=r"line 3: rating must be between 0.5 and 5"):
        parse_ratings_csv("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,7,964982703\n")
    with pytest.raises(DataError, match="half stars"):
        parse_ratings_csv("userId,movieId,rating,timestamp\n1,1,4.25,964982703\n")
    with pytest.raises(DataError, match="line 2: user_id must be a positive integer"):
        parse_ratings_csv("userId,movieId,rating,timestamp\n-1,1,4.0,964982703\n")


def _zip(path: Path, folder: str, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in files.items():
            zf.writestr(f"{folder}/{name}", raw)
    return path


def test_ml1m_zip_in_the_published_layout(tmp_path):
    zpath = _zip(tmp_path / "ml-1m.zip", "ml-1m", {
        "ratings.dat": ML1M_RATINGS.encode("latin-1"), "movies.dat": ML1M_MOVIES.encode("latin-1"),
        "users.dat": ML1M_USERS.encode("latin-1")})
    dataset = read_release(DATASETS["ml-1m"], zpath)
    assert len(dataset.interactions) == 4 and dataset.movies[2].title.startswith("Città")
    assert dataset.users[2].occupation == "self-employed"


def test_ml10m_folder_without_users_table(tmp_path):
    folder = tmp_path / "ml-10M100K"
    folder.mkdir()
    (folder / "ratings.dat").write_text(ML10M_RATINGS)
    (folder / "movies.dat").write_text(ML1M_MOVIES, encoding="utf-8")
    dataset = read_release(DATASETS["ml-10m"], folder)
    assert dataset.interactions.ratings.tolist() == [5.0, 4.5, 0.5]
    assert sorted(dataset.users) == [1, 2] and dataset.users[1].occupation == ""


def test_release_with_unknown_movie_is_refused(tmp_path):
    zpath = _zip(tmp_path / "ml-25m.zip", "ml-25m", {
        "ratings.csv": (CSV_RATINGS + "3,99,4.0,964982703\n").encode(), "movies.csv": CSV_MOVIES.encode()})
    with pytest.raises(DataError, match="ratings name movie 99"):
        read_release(DATASETS["ml-25m"], zpath)


def test_fetch_from_a_local_release_verifies_counts_and_writes_nothing_on_mismatch(tmp_path):
    zpath = _zip(tmp_path / "ml-25m.zip", "ml-25m", {
        "ratings.csv": CSV_RATINGS.encode(), "movies.csv": CSV_MOVIES.encode()})
    data = tmp_path / "data"
    with pytest.raises(DataError, match="ml-25m has 25,000,095 ratings, found 3"):
        fetch(data, str(zpath), name="ml-25m")
    assert not has_cache(data, "ml-25m")


def test_fetch_latest_small_caches_half_stars(tmp_path):
    zpath = _zip(tmp_path / "ml-latest-small.zip", "ml-latest-small", {
        "ratings.csv": CSV_RATINGS.encode(), "movies.csv": CSV_MOVIES.encode()})
    data = tmp_path / "data"
    dataset, fetched = fetch(data, str(zpath), name="ml-latest-small")
    assert fetched and has_cache(data, "ml-latest-small") and not has_cache(data)
    again = load_cache(data, name="ml-latest-small")
    assert half_stars(again) and again.info["name"] == "ml-latest-small"
    assert again.movies[11].title == "American President, The"
    assert np.array_equal(again.interactions.ratings, dataset.interactions.ratings)


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "UPPER", "x" * 65, ".."])
def test_dataset_names_are_checked(bad):
    with pytest.raises(DataError, match="data set name"):
        check_name(bad)
