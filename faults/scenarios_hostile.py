"""Fault-suite scenario for hostile text (issue 12, part 1).

``scenario_hostile_text``: a data set whose titles and occupations carry Rich markup, Textual
actions, escape sequences (clear screen, OSC 8 hyperlinks, OSC 52 clipboard writes), C1 controls,
NUL and bidi overrides is fetched like any local source, then every CLI command runs on it; so do
a hand-edited cache and a home path and Redis URL with the same payloads. Every command must exit
as expected with no traceback and write no control byte (stdout and stderr are read as bytes).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from recsys_tui.common.fsutil import atomic_write_bytes, sha256_file
from recsys_tui.common.text import has_control
from recsys_tui.core.home import Home
from recsys_tui.data.cache import cache_dir, load_cache
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.wire import has_traceback, one_line, run_wire, wire_problem
from recsys_tui.faults.workload import copy_home

HOSTILE = (
    "[/]",
    "[bold red]loud[/]",
    "[link=file:///etc/passwd]click me[/link]",
    "[@click=app.quit]quit[/]",
    "[@click=rate(1)]rate one star[/]",
    "[$x]",
    ":smile: :thumbs_up:",
    "\x1b[2J\x1b[Hcleared",
    "\x1b]8;;file:///etc/passwd\x07hyperlink\x1b]8;;\x07",
    "\x1b]52;c;SGVsbG8gY2xpcGJvYXJk\x07clipboard",
    "\x9b31mC1 CSI\x90DCS",
    "NUL\x00byte",
    "\u202eevil\u202c reversed \u2066iso\u2069",
    "=HYPERLINK(\"http://example.invalid\")",
    "+cmd|' /C calc'!A0",
    "\x7fDEL\x08\x07bell",
)
"""Payloads put into titles (none holds a line break: MovieLens tables are one record a line)."""
MARKUP_SHOWN = "[link=file:///etc/passwd]"
"""Text that must reach the output literally (shown, not obeyed)."""
FORMULA_START = ("=", "+", "-", "@")
def hostile_title(item_id: int, title: str) -> str:
    return f"{HOSTILE[item_id % len(HOSTILE)]} {title}"


def write_hostile_source(data_root: Path, dest: Path) -> Path:
    """A RecBole-layout folder with ML-100K's real ratings and hostile titles and occupations."""
    dataset = load_cache(data_root)
    inter = dataset.interactions
    dest.mkdir(parents=True)
    rows = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    rows += [f"{u}\t{i}\t{r:g}\t{t}" for u, i, r, t in zip(inter.user_ids, inter.item_ids, inter.ratings,
                                                        inter.timestamps, strict=True)]
    (dest / "ml-100k.inter").write_text("\n".join(rows) + "\n", encoding="utf-8")
    items = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    items += [f"{m.item_id}\t{hostile_title(m.item_id, m.title)}\t{m.year or ''}\t{' '.join(m.genres)}"
              for m in sorted(dataset.movies.values(), key=lambda m: m.item_id)]
    (dest / "ml-100k.item").write_text("\n".join(items) + "\n", encoding="utf-8")
    users = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token"]
    users += [f"{u.user_id}\t{u.age}\t{u.gender}\t{HOSTILE[u.user_id % len(HOSTILE)]}{u.occupation}"
              f"\t{u.zip_code}" for u in sorted(dataset.users.values(), key=lambda u: u.user_id)]
    (dest / "ml-100k.user").write_text("\n".join(users) + "\n", encoding="utf-8")
    return dest


def tamper_cache(data_root: Path) -> None:
    """Edit the cache by hand as an attacker would: raw escape sequences in titles, checksums redone."""
    folder = cache_dir(data_root)
    movies = json.loads((folder / "movies.json").read_text(encoding="utf-8"))
    for m in movies:
        m["title"] = "\x1b]52;c;cGF3bmVk\x07\x1b[2J" + m["title"] + "\u202e\x9b0m"
    atomic_write_bytes(folder / "movies.json", json.dumps(movies, ensure_ascii=False).encode())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"]["movies.json"] = sha256_file(folder / "movies.json")
    atomic_write_bytes(folder / "manifest.json", json.dumps(manifest).encode())


def _log_count(home: Home) -> int:
    if not home.event_log.exists():
        return 0
    with contextlib.closing(sqlite3.connect(home.event_log)) as db:
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


DEMO_SCRIPT = """login 1
search [/]
select 1
rate 5
similar
undo
login new
search [link=
"""


def _command_plan(home: Home, workdir: Path) -> list[tuple[str, list[str], tuple[int, ...]]]:
    """(label, argv, expected exit code) for every CLI command worth running on hostile data."""
    h = ["--home", str(home.root)]
    script = workdir / "hostile.script"
    script.write_text(DEMO_SCRIPT)
    return [
        ("recommend table", [*h, "recommend", "-u", "1"], 0),
        ("recommend json", [*h, "recommend", "-u", "1", "-f", "json"], 0),
        ("recommend csv", [*h, "recommend", "-u", "1", "-f", "csv", "-k", "50"], 0),
        ("similar", [*h, "similar", "-i", "1"], 0),
        ("similar csv", [*h, "similar", "-i", "2", "-f", "csv"], 0),
        ("rate", [*h, "rate", "-u", "1", "-i", "300", "-r", "5"], 0),
        ("rate json", [*h, "rate", "-u", "1", "-i", "301", "-r", "4", "-f", "json"], 0),
        ("click", [*h, "click", "-u", "1", "-i", "302"], 0),
        ("undo", [*h, "undo", "-u", "1"], 0),
        ("history", [*h, "history", "-u", "1"], 0),
        ("history csv", [*h, "history", "-u", "1", "-f", "csv"], 0),
        ("new-user", [*h, "new-user"], 0),
        ("status", [*h, "status"], 0),
        ("data info", [*h, "data", "info"], 0),
        ("models list", [*h, "models", "list"], 0),
        ("train", [*h, "train", "--model", "popularity"], 0),
        ("demo", [*h, "demo", "--script", str(script), "--size", "100x30",
                  "--json", str(workdir / "demo.json")], 0),
    ]


def _run_checked(out: Outcome, label: str, argv: list[str], expect_rc: int | tuple[int, ...],
                 env: dict | None = None, styled: bool = False) -> bytes:
    rc, stdout, stderr = run_wire(argv, env)
    out.bad_inputs += 1
    out.crashes += has_traceback(stderr)
    problem = wire_problem(stdout, styled) or wire_problem(stderr, styled)
    if rc != 0 and not one_line(stderr):
        problem = problem or f"{len(stderr.splitlines())} stderr lines"
    expected = (expect_rc,) if isinstance(expect_rc, int) else expect_rc
    out.fault(f"hostile text: {label}", rc in expected and problem is None and not has_traceback(stderr),
              f"rc={rc} (expected {expect_rc}) {problem or stderr.decode('utf-8', 'replace')[-200:]!r}")
    return stdout


def scenario_hostile_text(template: Home, workdir: Path, quick: bool = False) -> Outcome:
    """Hostile titles, occupations, paths and URLs through every CLI command: shown, never obeyed."""
    out = Outcome("hostile text")
    source = write_hostile_source(template.data, workdir / "hostile-source")
    home = copy_home(template, workdir / "home")
    rc, stdout, stderr = run_wire(["--home", str(home.root), "data", "fetch", "--source", str(source),
                                   "--force"])
    said = stdout.decode("utf-8", "replace")
    out.fault("hostile data set: fetched, and fetch says what it cleaned",
              rc == 0 and "cleaned" in said and "titles" in said and wire_problem(stdout) is None,
              f"rc={rc} {said[-200:]!r} {stderr.decode('utf-8', 'replace')[-200:]!r}")
    cached = load_cache(home.data)
    dirty = [m.title for m in cached.movies.values() if has_control(m.title)]
    kept = sum(MARKUP_SHOWN in m.title for m in cached.movies.values())
    out.fault("cache holds no control character, markup kept as text", not dirty and kept > 0,
              f"{len(dirty)} dirty titles, e.g. {dirty[:1]!r}; {kept} titles keep the markup text")
    before = _log_count(home)
    plan = _command_plan(home, workdir)
    if quick:
        plan = [p for p in plan if p[0] in ("recommend table", "recommend csv", "rate", "similar",
                                            "status", "history", "data info", "demo")]
    shown = {}
    for label, argv, expect in plan:
        shown[label] = _run_checked(out, label, argv, expect)
    table = shown.get("recommend table", b"").decode("utf-8", "replace")
    out.fault("markup in titles is shown literally, not interpreted",
              any(p in table for p in ("[/]", "[link=", "[@click=", "[bold red]", "[$x]")),
              f"no literal markup in the recommend table: {table[:300]!r}")
    csv_text = shown.get("recommend csv", b"").decode("utf-8", "replace")
    cells = [cell for line in csv_text.splitlines()[1:] for cell in line.split(",")]
    live = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    out.fault("CSV cells never start a formula", bool(cells) and not live, f"formula cells {live[:3]}")
    if "recommend json" in shown:
        try:
            rows = json.loads(shown["recommend json"])
            ok = all(r["title"] == cached.movies[r["item_id"]].label for r in rows)
        except (ValueError, KeyError, TypeError) as exc:
            ok = False
            rows = [str(exc)]
        out.fault("JSON round-trips the cleaned titles exactly", ok, f"{rows[:1]}")
    rated = {"rate", "rate json", "click", "undo"} & {p[0] for p in plan}
    after = _log_count(home)
    out.events_written = len(rated)
    out.events_found = after - before
    out.fault("each rate/click/undo logged exactly once (sqlite3)", after - before == len(rated),
              f"{after - before} events for {len(rated)} commands")
    _run_checked(out, "recommend on a colour terminal", ["--home", str(home.root), "recommend", "-u", "2"],
                 0, env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "TERM": "xterm-256color"}, styled=True)
    # a cache edited by hand with raw escape sequences
    tampered = copy_home(template, workdir / "tampered")
    tamper_cache(tampered.data)
    t = ["--home", str(tampered.root)]
    _run_checked(out, "hand-edited cache: recommend", [*t, "recommend", "-u", "1"], 0)
    info = _run_checked(out, "hand-edited cache: data info", [*t, "data", "info"], 0)
    out.fault("data info says the cache was edited", b"edited since" in info, info.decode()[-300:])
    # hostile home path, Redis URL and flag values reach only error lines and status
    evil = workdir / "home-\x1b[2J[link=file:///etc/passwd]x\u202e"
    copy_home(template, evil)
    _run_checked(out, "hostile home path: status", ["--home", str(evil), "status"], 0)
    _run_checked(out, "hostile home path: error line", ["--home", str(evil), "rate", "-u", "1", "-i", "99999",
                                                        "-r", "5"], 1)
    _run_checked(out, "hostile Redis URL", ["--home", str(home.root), "--redis-url",
                                            "redis://\x9b2J\u202e\x07:pw@127.0.0.1:1/0", "status"], (0, 1))
    _run_checked(out, "hostile flag value", ["--home", str(home.root), "rate", "-u", "1", "-i", "1", "-r",
                                             "\x1b[2J[/]"], 2)
    _run_checked(out, "hostile script path", ["--home", str(home.root), "demo", "--script",
                                              "\x1b]8;;x\x07[/]"], (1, 2))
    return out


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


