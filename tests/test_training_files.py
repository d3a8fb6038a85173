"""Training and files (issue 12, part 3): the publish gate, models list/use, distinct versions,
bounded input, new-user ids, undo after a retrain, a private home — checked on disk and in the log."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import zipfile
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from recsys_tui.common.errors import DataError
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.bounded import open_regular, read_member
from recsys_tui.data.cache import load_cache
from recsys_tui.data.sources import read_local
from recsys_tui.faults.scenarios_training import publish_concurrently
from recsys_tui.training.gate import GateError, gate
from recsys_tui.training.pipeline import read_ratings_file

from recsys_tui.cli import main


def run(capsys, home: Home, *args: str) -> tuple[int, str, str]:
    rc = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_line(err: str) -> bool:
    return len([x for x in err.splitlines() if x.strip() and not x.lstrip().startswith("·")]) == 1


def ratings_csv(path: Path, data_root: Path, n: int = 5000, extra_user: int | None = None) -> Path:
    inter = load_cache(data_root).interactions
    lines = ["user_id,item_id,rating,timestamp"]
    lines += [f"{u},{i},{r:g},{t}" for u, i, r, t in zip(inter.user_ids[:n], inter.item_ids[:n],
                                                       inter.ratings[:n], inter.timestamps[:n], strict=True)]
    if extra_user is not None:
        lines += [f"{extra_user},{i},4,{881250949 + i}" for i in range(1, 31)]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- the publish gate ----------------------------------------------------------------------------

def test_one_row_ratings_file_is_refused_and_current_unchanged(home, capsys, tmp_path):
    live = artifacts.current_version(home.artifacts)
    folders = artifacts.versions(home.artifacts)
    one = tmp_path / "one.csv"
    one.write_text("user_id,item_id,rating,timestamp\n1,1,5,881250949\n")
    rc, _, err = run(capsys, home, "train", "--ratings", str(one))
    assert rc == 1 and one_line(err) and "too little data" in err
    assert (home.artifacts / "CURRENT").read_text().strip() == live
    assert artifacts.versions(home.artifacts) == folders  # nothing published beside it either


@pytest.mark.slow
def test_nan_parameters_are_refused_and_current_unchanged(home, capsys):
    live = artifacts.current_version(home.artifacts)
    rc, _, err = run(capsys, home, "train", "--model", "ease", "-p", "l2=NaN")
    assert rc in (1, 2) and one_line(err) and "Traceback" not in err
    assert artifacts.current_version(home.artifacts) == live


def test_gate_refuses_non_finite_and_collapsed_models(home):
    current = artifacts.load(home.artifacts).trained
    report = gate(current, current, "same")
    assert report.hr10 == report.previous_hr10 and report.hr10 > 0.05
    broken = artifacts.load(home.artifacts).trained
    broken.model.item_factors = np.array(broken.model.item_factors)  # loaded factors are read-only maps
    broken.model.item_factors[3, 2] = np.nan
    with pytest.raises(GateError, match="non-finite"):
        gate(broken)
    worse = artifacts.load(home.artifacts).trained
    rng = np.random.default_rng(0)
    worse.model.item_factors = rng.normal(size=worse.model.item_factors.shape).astype(np.float32)
    with pytest.raises(GateError, match="below 50% of the current version"):
        gate(worse, current, "v-current")


# -- models list / use ---------------------------------------------------------------------------

@pytest.mark.slow
def test_models_list_and_use_roll_back_atomically(home, capsys):
    first = artifacts.current_version(home.artifacts)
    rc, _, err = run(capsys, home, "train", "--model", "popularity")
    assert rc == 0, err
    second = artifacts.current_version(home.artifacts)
    rc, out, _ = run(capsys, home, "models", "list", "-f", "json")
    rows = json.loads(out)
    assert [r["version"] for r in rows] == [first, second]
    assert [r["live"] for r in rows] == ["", "*"] and rows[0]["model"] == "als" and rows[0]["hr10"] > 0
    rc, out, _ = run(capsys, home, "models", "use", first)
    assert rc == 0 and (home.artifacts / "CURRENT").read_text() == first + "\n"
    assert not [p for p in home.artifacts.iterdir() if p.name.startswith(".CURRENT")]  # no temp left
    rc, _, err = run(capsys, home, "models", "use", "v0099-20990101T000000")
    assert rc == 2 and one_line(err) and (home.artifacts / "CURRENT").read_text() == first + "\n"


def test_models_use_refuses_a_corrupt_version(home, capsys):
    live = artifacts.current_version(home.artifacts)
    trained = artifacts.load(home.artifacts).trained
    other = artifacts.publish(home.artifacts, trained, make_current=False)
    with open(home.artifacts / other / "model.npz", "r+b") as fh:
        fh.seek(200)
        fh.write(b"\xff\xff")
    rc, _, err = run(capsys, home, "models", "use", other)
    assert rc == 1 and "sha256" in err and artifacts.current_version(home.artifacts) == live


# -- distinct versions -----------------------------------------------------------------------------

def test_concurrent_publishes_never_share_or_replace_a_version(home):
    names = publish_concurrently(home.artifacts, threads=3, each=2)
    assert len(names) == len(set(names)) == 6
    for name in names:  # each folder holds its own manifest, every checksum intact
        assert json.loads((home.artifacts / name / "manifest.json").read_text())["version"] == name
        artifacts.verify(home.artifacts / name)


# -- bounded input -------------------------------------------------------------------------------

def test_fifo_and_device_links_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)  # opening it for reading would block forever without O_NONBLOCK
    with pytest.raises(DataError, match="FIFO"):
        read_ratings_file(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    with pytest.raises(DataError, match="device"):
        read_ratings_file(zero)
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t0\n")
    os.mkfifo(folder / "u.item")
    with pytest.raises(DataError, match=r"u\.item: is a FIFO"):
        read_local(folder)


def test_oversized_file_is_refused_with_the_memory_it_needs(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(600 << 20)  # sparse: no disk used, and it is never read
    with pytest.raises(DataError, match=r"600\.0 MB is larger .* about 2\.3 GB of memory"):
        read_ratings_file(big)
    with pytest.raises(DataError, match="larger than"), open_regular(big, 1 << 20):
        pass


def test_zip_members_decompress_through_a_bound(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-100k/u.data", b"\0" * (80 << 20))
    assert bomb.stat().st_size < 200_000
    with zipfile.ZipFile(bomb) as zf, pytest.raises(DataError, match=r"would expand to 80\.0 MB"):
        read_member(zf, "ml-100k/u.data", "bomb.zip")
    with zipfile.ZipFile(bomb) as zf:  # a header that lies is caught by the counter
        info = zf.getinfo("ml-100k/u.data")
        info.file_size = 10
        with pytest.raises(DataError, match=r"corrupt|expands beyond"):
            read_member(zf, "ml-100k/u.data", "bomb.zip", limit=1 << 20)


def test_ratings_are_validated_as_streamed(tmp_path, ml100k_data):
    good = ratings_csv(tmp_path / "good.csv", ml100k_data, n=300)
    assert len(read_ratings_file(good)) == 300
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,rating,timestamp\n1,1,5,0\n1,2,x,0\n" + "1,3,4,0\n" * 10)
    with pytest.raises(DataError, match="line 3: rating must be a number"):
        read_ratings_file(bad)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\0" * 4096)
    with pytest.raises(DataError, match="binary data"):
        read_ratings_file(binary)


# -- new-user ids, undo after a retrain --------------------------------------------------------------

@pytest.mark.slow
def test_new_user_ids_are_above_every_user_the_home_knows(home, capsys, tmp_path, ml100k_data):
    ratings = ratings_csv(tmp_path / "r.csv", ml100k_data, extra_user=5000)
    rc, _, err = run(capsys, home, "train", "--model", "popularity", "--ratings", str(ratings))
    assert rc == 0, err
    rc, out, _ = run(capsys, home, "models", "use", artifacts.versions(home.artifacts)[0])  # roll back
    rc, out, _ = run(capsys, home, "new-user")
    assert rc == 0 and int(out) == 5001
    with closing(sqlite3.connect(home.event_log)) as db:  # an event by a user beyond that
        db.execute("INSERT INTO events (user_id, item_id, kind, rating, ts) VALUES (7000, 1, 'click', "
                   "NULL, 0)")
        db.commit()
    rc, out, _ = run(capsys, home, "new-user")
    assert rc == 0 and int(out) == 7001


@pytest.mark.slow
def test_undo_after_a_retrain_removes_the_rating_from_history_and_reasons(home, capsys):
    rc, out, _ = run(capsys, home, "new-user")
    user = int(out)
    for item in (50, 181):
        assert run(capsys, home, "rate", "-u", str(user), "-i", str(item), "-r", "5")[0] == 0
    rc, _, err = run(capsys, home, "train")
    assert rc == 0, err
    assert run(capsys, home, "undo", "-u", str(user))[0] == 0
    engine = Engine.open(home)
    try:
        idx, _ = engine.user_arrays(user)
        held = set(engine.trained.items.ids[idx].tolist())
        title = engine.catalogue.title(181)
        reasons = [r.reason for r in engine.recommend(user, 50).items]
    finally:
        engine.close()
    assert held == {50}  # the retrained model still holds 181; the undo takes it out
    assert not [r for r in reasons if title in r]


# -- a private home -------------------------------------------------------------------------------

def loose_modes(root: Path) -> list[str]:
    return [f"{p} {stat.S_IMODE(p.lstat().st_mode):o}" for p in [root, *root.rglob("*")]
            if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077]


@pytest.mark.slow
def test_the_home_is_private(tmp_path, capsys, ml100k_data):
    root = tmp_path / "fresh"
    root.mkdir(mode=0o755)
    (root / "data").mkdir()
    for src in (ml100k_data / "ml-100k").iterdir():  # copied in with the usual 0644/0755 modes
        target = root / "data" / "ml-100k" / src.name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(src.read_bytes())
        target.chmod(0o644)
    home = Home(root)
    assert loose_modes(root)
    rc, _, err = run(capsys, home, "rate", "-u", "1", "-i", "20", "-r", "4")  # trains on first use
    assert rc == 0, err
    assert run(capsys, home, "train", "--model", "popularity")[0] == 0
    assert home.event_log.exists() and loose_modes(root) == []
    assert stat.S_IMODE(home.event_log.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
