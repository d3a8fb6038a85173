"""Fault-suite scenario for the training and file paths (issue 12, part 3).

``scenario_training_files``: the publish gate, ``models list|use``, concurrent publishes,
bounded input (FIFO, /dev/zero link, oversized file, zip bomb), new-user ids above a ratings file's
users, undo after a retrain, and the home's file modes — each checked on disk or in the log.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import zipfile
from pathlib import Path

from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.cache import load_cache
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.wire import has_traceback, one_line, run_wire
from recsys_tui.faults.workload import copy_home


def _ratings_file(template: Home, path: Path, extra_user: int) -> Path:
    """The first 5,000 ML-100K ratings plus 30 by ``extra_user`` (a user the data set lacks)."""
    inter = load_cache(template.data).interactions
    lines = ["user_id,item_id,rating,timestamp"]
    lines += [f"{u},{i},{r:g},{t}" for u, i, r, t in zip(inter.user_ids[:5000], inter.item_ids[:5000],
                                                       inter.ratings[:5000], inter.timestamps[:5000],
                                                       strict=True)]
    lines += [f"{extra_user},{i},4,{881250949 + i}" for i in range(1, 31)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _modes(root: Path) -> list[str]:
    """Paths under ``root`` whose mode lets group or others in."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if not path.is_symlink() and mode & 0o077:
            loose.append(f"{path.relative_to(root)} {mode:o}")
    return loose


def publish_concurrently(root: Path, threads: int = 3, each: int = 2) -> list[str]:
    """``threads`` threads each publish the current model ``each`` times at once (no new current):
    the version names they got, in the order they finished."""
    trained = artifacts.load(root).trained
    names: list[str] = []
    lock = threading.Lock()

    def publish_some() -> None:
        for _ in range(each):
            name = artifacts.publish(root, trained, make_current=False)
            with lock:
                names.append(name)

    workers = [threading.Thread(target=publish_some) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=300)
    return names


def scenario_training_files(template: Home, workdir: Path, quick: bool = False) -> Outcome:
    """Degenerate models refused, rollback, distinct versions, bounded input, ids, undo, modes."""
    out = Outcome("training and files")
    home = copy_home(template, workdir / "home")
    h = ["--home", str(home.root)]
    live = artifacts.current_version(home.artifacts)

    def refused(label: str, argv: list[str], must_say: str = "") -> None:
        rc, _stdout, stderr = run_wire(h + argv, timeout=120)
        out.bad_inputs += 1
        out.crashes += has_traceback(stderr)
        text = stderr.decode("utf-8", "replace")
        unchanged = artifacts.current_version(home.artifacts) == live
        out.fault(label, rc in (1, 2) and one_line(stderr) and unchanged and must_say in text
                  and not has_traceback(stderr), f"rc={rc} CURRENT unchanged={unchanged} {text[-200:]!r}")

    one_row = workdir / "one-row.csv"
    one_row.write_text("user_id,item_id,rating,timestamp\n1,1,5,881250949\n")
    refused("one-row ratings file: refused, CURRENT unchanged", ["train", "--ratings", str(one_row)])
    refused("ease -p l2=NaN: refused, CURRENT unchanged", ["train", "--model", "ease", "-p", "l2=NaN"])
    fifo = workdir / "ratings.fifo"
    os.mkfifo(fifo)
    refused("FIFO as --ratings: refused at once", ["train", "--ratings", str(fifo)], "FIFO")
    zero = workdir / "zero.csv"
    zero.symlink_to("/dev/zero")
    refused("link to /dev/zero as --ratings: refused", ["train", "--ratings", str(zero)], "device")
    big = workdir / "big.csv"
    with open(big, "wb") as fh:  # sparse: takes no disk space
        fh.truncate(600 << 20)
    refused("600 MB ratings file: refused with its memory need", ["train", "--ratings", str(big)], "memory")
    big.unlink()
    bomb = workdir / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-100k/u.data", b"\0" * (100 << 20))
        zf.writestr("ml-100k/u.item", b"1|x|||" + b"|0" * 19 + b"\n")
        zf.writestr("ml-100k/u.user", b"1|20|M|x|0\n")
    refused(f"zip bomb ({bomb.stat().st_size // 1024} KB → 100 MB): refused",
            ["data", "fetch", "--source", str(bomb), "--force"], "expand")
    folder = workdir / "fifo-source"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t881250949\n")
    os.mkfifo(folder / "u.item")
    refused("source folder whose u.item is a FIFO: refused", ["data", "fetch", "--source", str(folder),
                                                              "--force"], "FIFO")
    # models list / use: rollback and back, CURRENT switched atomically
    rc, _o, err = run_wire([*h, "train", "--model", "popularity"])
    newer = artifacts.current_version(home.artifacts)
    out.fault("a good model still publishes", rc == 0 and newer != live, err.decode()[-200:])
    rc, listing, _e = run_wire([*h, "models", "list", "-f", "json"])
    rows = json.loads(listing) if rc == 0 else []
    out.fault("models list shows every version, the live one marked",
              [r["version"] for r in rows] == artifacts.versions(home.artifacts)
              and [r["version"] for r in rows if r["live"] == "*"] == [newer], f"rc={rc} {rows}")
    rc, _o, err = run_wire([*h, "models", "use", str(live)])
    out.fault("models use VERSION rolls back", rc == 0 and artifacts.current_version(home.artifacts) == live,
              err.decode()[-200:])
    refused("models use of an unknown version: refused", ["models", "use", "v9999-20990101T000000"])
    # concurrent publishes never share a name
    names = publish_concurrently(home.artifacts, threads=3, each=2 if quick else 3)
    intact = all(artifacts.verify(home.artifacts / n)["version"] == n for n in names)
    out.fault("publishes in the same second get distinct versions, none replaced",
              len(set(names)) == len(names) == 3 * (2 if quick else 3) and intact, f"{sorted(names)}")
    out.notes["publish_names"] = len(names)
    # new-user ids above a ratings file's users
    ratings = _ratings_file(template, workdir / "ratings.csv", extra_user=5000)
    rc, _o, err = run_wire([*h, "train", "--ratings", str(ratings), "--model", "popularity"])
    rc2, new_id, _e = run_wire([*h, "new-user"])
    value = int(new_id.strip() or 0) if rc2 == 0 and new_id.strip().isdigit() else 0
    out.fault("new-user id above every user the home knows (ratings file user 5000)",
              rc == 0 and value > 5000, f"rc={rc}/{rc2} new id {new_id!r} {err.decode()[-200:]!r}")
    run_wire([*h, "models", "use", str(live)])
    # undo after a retrain: no reason cites the undone rating
    out.fault("undo after a retrain leaves no trace of the undone rating", _undo_after_retrain(home), "")
    loose = _modes(home.root)
    out.fault("home private: folders 0700, files 0600 (event log included)",
              not loose and home.event_log.exists(), f"{loose[:5]}")
    return out


def _undo_after_retrain(home: Home) -> bool:
    """Rate as a new user, retrain, undo: the rating must leave the user's history and reasons."""
    def cli(*args: str) -> bytes:
        rc, stdout, stderr = run_wire(["--home", str(home.root), *args])
        if rc != 0:
            raise RuntimeError(stderr.decode("utf-8", "replace")[-200:])
        return stdout

    user = cli("new-user").strip().decode()
    cli("rate", "-u", user, "-i", "50", "-r", "5")
    cli("rate", "-u", user, "-i", "181", "-r", "5")
    cli("train")
    cli("undo", "-u", user)
    title = load_cache(home.data).movies[181].title
    history = json.loads(cli("history", "-u", user, "-f", "json"))
    recs = json.loads(cli("recommend", "-u", user, "-f", "json", "-k", "50"))
    engine = Engine.open(home)
    try:
        idx, _values = engine.user_arrays(int(user))
        kept = int(engine.trained.items.index(181)) in set(idx.tolist())
    finally:
        engine.close()
    return [h["item_id"] for h in history] == [50] and not kept \
        and not any(title in r["reason"] for r in recs)
