"""Scenarios of load and hostile input: concurrent writers, fuzzed events, bad command lines."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.core.results import percentile
from recsys_tui.faults.backends import Backends, Embedded
from recsys_tui.faults.independent import log_problems, log_rows, store_problems
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.verify import (
    KEY_SCHEMA,
    log_consistent,
    seed_counts,
    store_matches_log,
)
from recsys_tui.faults.worker import spawn
from recsys_tui.faults.workload import one_clean_line, run_cli


def scenario_concurrency(home: Home, workdir: Path, procs: int = 4, n: int = 500,
                         backends: Backends | None = None) -> Outcome:
    """``procs`` processes × ``n`` events on one store and one log: nothing lost, counts exact."""
    backends = backends or Embedded()
    out = Outcome(f"load {procs} procs × {n}")
    log_url = backends.log_url()
    with backends.store(workdir) as target:
        engine = Engine.open(home, target.url, log_url=log_url)  # seed the store once
        seed = seed_counts(engine)
        engine.close()
        users = ",".join(map(str, range(1, 21)))  # shared users: every process writes every user
        files = [workdir / f"lat-{i}.json" for i in range(procs)]
        workers = [spawn(["worker", "--home", str(home.root), "--redis-url", target.url,
                          *(["--log-url", log_url] if log_url else []), "--users", users,
                          "--n", str(n), "--seed", str(100 + i), "--out", str(files[i])],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for i in range(procs)]
        errors = []
        for w in workers:
            _, err = w.communicate(timeout=1800)
            if w.returncode:
                errors.append(err.strip().splitlines()[-1][:160] if err.strip() else f"exit {w.returncode}")
        out.fault("every process finished", not errors, "; ".join(errors))
        latencies = [x for f in files if f.exists() for x in json.loads(f.read_text())["latencies_ms"]]
        rows = log_rows(home.event_log, log_url)
        out.events_written = procs * n
        out.events_found = len(rows)
        out.fault("zero lost events", out.events_found == procs * n, f"{out.events_found} of {procs * n}")
        engine = Engine.open(home, target.url, log_url=log_url)
        problems = store_matches_log(engine) + log_problems(rows, backends.contiguous_ids)
        problems += store_problems(target.url, rows, seed)
        if log_url is None:
            problems += log_consistent(home.event_log)
        out.fault("exact popularity and per-user counts (and by a separate client)", not problems,
                  "; ".join(problems))
        engine.close()
        out.notes.update(p50_ms=round(percentile(latencies, 50, 0.0), 3),
                         p99_ms=round(percentile(latencies, 99, 0.0), 3))
    return out


def scenario_bad_inputs(home: Home, seed: int = 3, n: int = 400) -> Outcome:
    """Random and hostile inputs to the parsers and the engine: clean errors only, no crash."""
    from recsys_tui.data import parsers

    out = Outcome("bad input (parse/api)")
    rng = random.Random(seed)
    alphabet = "0123456789 \t\n,|:.-+eE%'\";`\\/\0\x85\u2028é²٣\ufeff" + "abcxyz"
    texts = ["", "\0", "user_id,item_id,rating,timestamp\n1,2,3", "1\t2\t3\t4\n" * 3, "1|x|" + "|" * 30,
             "'; DROP TABLE events; --", "%", "9" * 5000, "1 2 3 ²"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(n)]
    parse_fns = [parsers.parse_udata, parsers.parse_interactions_text, parsers.parse_uitem,
                 parsers.parse_uuser, parsers.parse_recbole_item, parsers.parse_recbole_user]
    def attempt(label: str, fn: Callable, *args, expected: tuple = (RecsysError,), **kw) -> bool:
        """True when ``fn`` accepted the input, False on a clean refusal; other errors are crashes."""
        out.bad_inputs += 1
        try:
            fn(*args, **kw)
        except expected:
            return False
        except Exception as exc:  # anything else is a crash: count and describe it
            out.crashes += 1
            out.notes.setdefault("crash_examples", []).append(f"{label}: {type(exc).__name__}: {exc}"[:200])
            return False
        return True

    for text in texts:
        for fn in parse_fns:
            attempt(f"{fn.__name__}({text[:30]!r})", fn, text)
        for fn in (parsers.parse_id, parsers.parse_rating, parsers.parse_timestamp):
            attempt(f"{fn.__name__}({text[:30]!r})", fn, text, expected=(ValueError,))
    engine = Engine.open(home)
    values = [0, -1, 1, 2**31, 2**63, 1.5, float("nan"), float("inf"), True, None, "1", "1; DROP TABLE",
              b"1", [], 944, 1682, 1683, 42, 500, 3]
    before = engine.log.count()
    accepted = 0
    for _ in range(n):
        args = (rng.choice(values), rng.choice(values),
                rng.choice(["rating", "click", "view", "undo", "'; --", ""]), rng.choice([*values, 3, 5]))
        accepted += attempt(f"record{args}", engine.record, *args,
                            k=rng.choice([1, 10, 0, -5, 10**6, "10"]), with_before=False)
    for text in texts[:100]:
        attempt(f"search({text[:30]!r})", engine.search, text, user_id=1)
    stray = [k for k in engine.store.all_keys() if not KEY_SCHEMA.match(k)]
    out.fault("every store key follows the schema", not stray, f"stray keys {stray[:5]}")
    out.fault("only valid events were logged", engine.log.count() - before == accepted,
              f"{engine.log.count() - before} logged, {accepted} accepted")
    out.fault("no crash on bad input", out.crashes == 0, "; ".join(out.notes.get("crash_examples", [])[:3]))
    out.events_written = out.events_found = accepted
    engine.close()
    return out


def scenario_cli_bad_args(home: Home, quick: bool = False) -> Outcome:
    """Hostile command lines: usage errors and refusals, each one line, never a traceback."""
    out = Outcome("bad command lines")
    h = ["--home", str(home.root)]
    cases = [
        ["rate", "-u", "abc", "-i", "1", "-r", "5"], ["rate", "-u", "1", "-i", "99999", "-r", "5"],
        ["rate", "-u", "-3", "-i", "1", "-r", "5"], ["rate", "-u", "1", "-i", "1", "-r", "'; DROP TABLE"],
        ["recommend", "--user", str(2**63)], ["recommend", "--user", "1", "-k", "0"],
        ["similar", "-i", "0"], ["click", "-u", "1", "-i", "1", "--kind", "purchase"],
        ["--redis-url", "http://user:sekrit@x/0", "recommend", "--user", "1"], ["undo", "-u", "5000"],
        ["history", "-u", "1", "-f", "xml"], ["recommend", "--user", "1", "--all-users"],
    ]
    if quick:
        cases = cases[::3]
    for args in cases:
        out.bad_inputs += 1
        rc, stdout, stderr = run_cli(h + args)
        problem = one_clean_line(stderr)
        crashed = "Traceback" in stderr
        out.crashes += crashed
        out.fault(" ".join(args)[:60], rc in (1, 2) and problem is None and "sekrit" not in stdout + stderr,
                  f"rc={rc} {problem or stderr.strip()[:160]}")
    return out
