"""Scenarios on files: corrupt model and data set files, a full disk, a read-only home."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.fsutil import sha256_file
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.home import Home
from recsys_tui.data.cache import cache_dir
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.verify import (
    log_consistent,
)
from recsys_tui.faults.workload import copy_home, one_clean_line, run_cli


def _rewrite_manifest(folder: Path, **changes: str) -> None:
    manifest = json.loads((folder / artifacts.MANIFEST).read_text())
    manifest["sha256"].update(changes)
    (folder / artifacts.MANIFEST).write_text(json.dumps(manifest))


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


RECOMMEND = ("recommend", "--user", "1")
"""The command each corruption is probed with, unless the case names its own."""
READS_RATINGS = ("data", "info")
"""The probe for the ratings file: serving reads the per-user tables and the summary (each with
its own checksum, tied to the ratings' digest), never ratings.npz, which is verified when read
(``train``, ``eval``, ``replay``, ``data info``)."""


def corruptions() -> list[tuple[str, Callable[[Home], None], str, tuple[str, ...]]]:
    """(what, damage(home), the recovery command the error must name, the command that meets it)."""
    train, fetch = "recsys-tui train", "recsys-tui data fetch --force"

    def cur(home: Home) -> Path:
        return home.artifacts / str(artifacts.current_version(home.artifacts))

    def truncated_resigned(home: Home) -> None:
        folder = cur(home)
        _truncate(folder / "model.npz")
        _rewrite_manifest(folder, **{"model.npz": sha256_file(folder / "model.npz")})

    def garbage_index_resigned(home: Home) -> None:
        folder = cur(home)
        (folder / artifacts.INDEX_FILE).write_bytes(os.urandom(4096))
        _rewrite_manifest(folder, **{artifacts.INDEX_FILE: sha256_file(folder / artifacts.INDEX_FILE)})

    def data_resigned(home: Home) -> None:
        folder = cache_dir(home.data)
        _truncate(folder / "ratings.npz")
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["sha256"]["ratings.npz"] = sha256_file(folder / "ratings.npz")
        (folder / "manifest.json").write_text(json.dumps(manifest))

    cases = [
        ("truncated model.npz", lambda h: _truncate(cur(h) / "model.npz"), train),
        ("truncated npz with a matching checksum", truncated_resigned, train),
        ("changed bytes in index.faiss", lambda h: _flip(cur(h) / artifacts.INDEX_FILE), train),
        ("garbage index with a matching checksum", garbage_index_resigned, train),
        ("missing index file", lambda h: (cur(h) / artifacts.INDEX_FILE).unlink(), train),
        ("manifest checksum mismatch", lambda h: _rewrite_manifest(cur(h), **{"vocab.npz": "0" * 64}), train),
        ("manifest is not JSON", lambda h: (cur(h) / artifacts.MANIFEST).write_text("{garbage"), train),
        ("CURRENT names garbage",
         lambda h: (h.artifacts / artifacts.CURRENT).write_text("../../etc\n"), train),
        ("CURRENT names a missing version",
         lambda h: (h.artifacts / artifacts.CURRENT).write_text("v9999-20990101T000000\n"), train),
        ("dataset: changed bytes in ratings.npz", lambda h: _flip(cache_dir(h.data) / "ratings.npz"), fetch,
         READS_RATINGS),
        ("dataset: truncated movies.json", lambda h: _truncate(cache_dir(h.data) / "movies.json"), fetch),
        ("dataset: truncated npz with a matching checksum", data_resigned, fetch),
        ("dataset: manifest is not JSON",
         lambda h: (cache_dir(h.data) / "manifest.json").write_text("{nope"), fetch),
    ]
    return [case if len(case) == 4 else (*case, RECOMMEND) for case in cases]


def scenario_corrupt(template: Home, workdir: Path, quick: bool = False) -> Outcome:
    """Each corruption on a fresh copy; the CLI refuses with one line naming the recovery."""
    out = Outcome("corrupt model/dataset")
    cases = corruptions()
    if quick:
        cases = cases[::2]
    for n, (what, damage, hint, probe) in enumerate(cases):
        home = copy_home(template, workdir / f"corrupt-{n}")
        damage(home)
        rc, _, stderr = run_cli(["--home", str(home.root), *probe])
        problem = one_clean_line(stderr)
        ok = rc == 1 and problem is None and hint in stderr
        out.crashes += "Traceback" in stderr
        out.fault(what, ok, f"rc={rc} {problem or stderr.strip()[:200]}")
    return out


@contextlib.contextmanager
def small_filesystem(path: Path, size_kb: int) -> Iterator[bool]:
    """A tmpfs of ``size_kb`` at ``path`` (needs root and mount rights); yields whether it worked."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                                 capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(folder: Path) -> None:
    """Write a filler file until the file system reports ENOSPC (blocks down to single bytes)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 16, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("filler") and "events.sqlite3" not in p.name}


def scenario_disk(template: Home, workdir: Path) -> Outcome:
    """Disk full (a small tmpfs) and a read-only home: clear one-line errors, nothing half-written."""
    out = Outcome("disk full, read-only")
    mnt = workdir / "small-fs"
    with small_filesystem(mnt, 12 * 1024) as mounted:
        if not mounted:
            out.notes["disk_full"] = "skipped: mounting a small tmpfs needs root"
        else:
            home = copy_home(template, mnt / "home")
            engine = Engine.open(home)
            for i in range(5):
                engine.record(1, 10 + i, "rating", 4)
            engine.close()
            before = _snapshot(home.root)
            live = Engine.open(home)  # a session already running when the disk fills up
            fill_disk(mnt)
            landed, refused = 0, 0
            for i in range(50):
                try:
                    live.record(2, 100 + i, "rating", 3, with_before=False)
                    landed += 1
                except RecsysError:
                    refused += 1
                except Exception as exc:  # counted as a crash
                    out.crashes += 1
                    out.notes["disk_full_crash"] = f"{type(exc).__name__}: {exc}"[:200]
            live.close()
            out.fault("disk full in a running session: each event lands whole or is refused cleanly",
                      landed + refused == 50, f"{landed} landed, {refused} refused")
            for args in (["rate", "-u", "1", "-i", "99", "-r", "5"], ["train", "--model", "popularity"],
                         ["train", "--model", "popularity", "--no-log"]):
                rc, _, stderr = run_cli(["--home", str(home.root), *args])
                problem = one_clean_line(stderr, progress=True)
                out.crashes += "Traceback" in stderr
                what = " ".join(a for a in args if a in ("rate", "train", "--no-log"))
                out.fault(f"disk full: {what} fails with one clear line", rc == 1 and problem is None,
                          f"rc={rc} {problem or stderr.strip()[:160]}")
                out.notes[f"disk_full: {what}"] = (stderr.strip().splitlines() or [""])[-1][:200]
            leftovers = [p.name for p in home.artifacts.iterdir() if p.name.startswith(".")]
            unchanged = _snapshot(home.root) == before
            (mnt / "filler").unlink()  # room again: the log must open and be intact
            problems = log_consistent(home.event_log)
            out.fault("disk full: nothing half-written", unchanged and not leftovers and not problems,
                      f"files changed={not unchanged} leftovers={leftovers} log={problems}")
            log = EventLog(home.event_log)
            out.events_written, out.events_found = 5 + landed, log.count()
            log.close()
            out.fault("disk full: committed events kept, refused ones absent",
                      out.events_found == out.events_written, f"{out.events_found} of {out.events_written}")
            out.notes["disk_full_session"] = f"{landed} events landed, {refused} refused"
    ro = workdir / "ro-home"
    with small_filesystem(ro, 16 * 1024) as mounted:
        home = copy_home(template, ro / "home")
        if mounted:
            ok = subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True).returncode == 0
        else:
            os.chmod(home.root, 0o555)
            ok = os.geteuid() != 0
        try:
            if not ok:
                out.notes["read_only"] = "skipped: running as root without mount rights"
            else:
                for args in (["rate", "-u", "1", "-i", "99", "-r", "5"], ["train", "--model", "popularity"]):
                    rc, _, stderr = run_cli(["--home", str(home.root), *args])
                    problem = one_clean_line(stderr, progress=True)
                    out.crashes += "Traceback" in stderr
                    out.fault(f"read-only home: {args[0]} refused with one clear line",
                              rc == 1 and problem is None and "writable" in stderr,
                              f"rc={rc} {problem or stderr.strip()[:160]}")
                    out.notes[f"read_only_{args[0]}"] = stderr.strip()[:200]
        finally:
            if not mounted:
                os.chmod(home.root, 0o755)
    not_a_dir = workdir / "home-is-a-file"
    not_a_dir.write_text("x")
    rc, _, stderr = run_cli(["--home", str(not_a_dir), "rate", "-u", "1", "-i", "2", "-r", "3"])
    out.fault("home that is a file: one clear line", rc == 1 and one_clean_line(stderr) is None,
              f"rc={rc} {stderr.strip()[:160]}")
    return out
