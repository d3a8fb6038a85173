"""Adaptation, differentiation and the Markdown report (issue 5, docs/METHOD.md).

- *Adaptation*: ``n_users`` random MovieLens users (fixed seed) each give one 5-star rating to a
  movie picked at random among the 200 most-rated training movies that they have not rated and
  that is not already in their top-10. Through the engine (a temporary copy of the home): the share
  of users whose top-10 changed, the mean number of changed positions, and how often the rated
  movie reappears in the new list (must be never).
- *Differentiation*: personalization (1 − mean pairwise Jaccard of top-10 lists) and coverage@10
  over every MovieLens user, for the published model beside the popularity and random baselines.
- ``build_report`` runs eval (stratified, several seeds) + replay + both of the above and writes
  Markdown plus JSON atomically.
"""

from __future__ import annotations

import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.common.fsutil import atomic_write_bytes, atomic_write_json
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.fetch import load as load_dataset
from recsys_tui.models.base import top_k
from recsys_tui.training.metrics import coverage, personalization

K = 10
POPULAR_POOL = 200
PACKAGES = ("recsys-tui", "numpy", "scipy", "implicit", "faiss-cpu", "redis", "fakeredis", "textual",
            "typer", "rich")


class ReportError(RecsysError):
    """The report cannot be produced (bad option, unwritable output folder)."""


@dataclass
class Adaptation:
    users: int
    changed_share: float
    mean_changed_positions: float
    mean_new_items: float
    rated_item_shown: int
    seed: int
    model_version: str


@dataclass
class Differentiation:
    users: int
    rows: dict[str, dict[str, float]]
    model: str
    model_version: str


def temp_copy(home: Home, parent: Path) -> Home:
    """A private home holding the dataset cache and only the current model version (no events)."""
    version = artifacts.current_version(home.artifacts)
    if version is None:
        raise ReportError(f"no trained model in {home.artifacts}; run `recsys-tui train`")
    copy = Home(parent / "home", home.dataset).ensure()
    if copy.data.exists() or copy.artifacts.exists():
        raise ReportError(f"{copy.root} is not empty")
    shutil.copytree(home.data / home.dataset, copy.data / home.dataset)
    copy.artifacts.mkdir(parents=True)
    shutil.copytree(home.artifacts / version, copy.artifacts / version)
    artifacts.set_current(copy.artifacts, version)
    return copy


def differentiation(engine: Engine, seed: int = 0) -> Differentiation:
    """Personalization and coverage@10 over every MovieLens user; popularity and random beside."""
    trained = engine.trained
    user_ids, item_ids, _ = engine.recommend_all(K)
    ml_users = np.isin(user_ids, np.array(sorted(engine.dataset.users)))
    n_items = len(trained.items)
    recs = np.where(item_ids[ml_users] > 0, item_ids[ml_users], -1)
    rows = {trained.name: {"personalization": personalization(recs), "coverage": coverage(recs, n_items)}}
    rng = np.random.default_rng(seed)
    pop, rand = [], []
    for u in user_ids[ml_users].tolist():
        seen, _ = trained.history(u)
        pop.append(trained.items.ids[top_k(trained.popularity, K, exclude=seen)])
        rand.append(trained.items.ids[top_k(rng.random(n_items), K, exclude=seen)])
    for name, lists in (("popularity", pop), ("random", rand)):
        arr = np.stack(lists)
        rows[name] = {"personalization": personalization(arr), "coverage": coverage(arr, n_items)}
    return Differentiation(int(ml_users.sum()), rows, trained.name, engine.version)


def adaptation(engine: Engine, n_users: int = 200, seed: int = 0) -> Adaptation:
    """One 5-star rating of an unseen popular movie per user; how the top-10 responds."""
    rng = np.random.default_rng(seed)
    trained = engine.trained
    users = sorted(engine.dataset.users)
    picked = rng.choice(users, size=min(n_users, len(users)), replace=False)
    pool = trained.items.ids[top_k(trained.popularity, POPULAR_POOL)]
    changed, positions, new_items, shown = 0, [], [], 0
    for u in picked.tolist():
        before = [r.item_id for r in engine.recommend(u, K).items]
        seen_idx, _ = engine.user_arrays(u)
        seen = set(trained.items.ids[seen_idx].tolist()) | set(before)
        options = [int(i) for i in pool if int(i) not in seen]
        if not options:
            continue
        item = options[int(rng.integers(len(options)))]
        after = [r.item_id for r in engine.record(u, item, "rating", 5, with_before=False).after.items]
        diff = sum(a != b for a, b in zip(before, after, strict=False)) + abs(len(before) - len(after))
        changed += diff > 0
        positions.append(diff)
        new_items.append(len(set(after) - set(before)))
        shown += item in after
    n = len(positions)
    return Adaptation(n, changed / n if n else 0.0, float(np.mean(positions)) if n else 0.0,
                      float(np.mean(new_items)) if n else 0.0, shown, seed, engine.version)


def adaptation_and_differentiation(home: Home, n_users: int = 200, seed: int = 0
                                   ) -> tuple[Adaptation, Differentiation]:
    """Both measurements on a temporary copy of ``home`` (its event log is never touched)."""
    with tempfile.TemporaryDirectory(prefix="recsys-report-") as tmp:
        engine = Engine.open(temp_copy(home, Path(tmp)))
        try:
            diff = differentiation(engine, seed)  # before any event: the published model as is
            adapt = adaptation(engine, n_users, seed)
        finally:
            engine.close()
    return adapt, diff


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# -- the report ------------------------------------------------------------------------------------


def _fmt(v: float | None, digits: int = 4) -> str:
    return "–" if v is None or v != v else f"{v:.{digits}f}"


def markdown(data: dict) -> str:
    """The report as Markdown (tables of every number in ``data``)."""
    lines = [f"# recsys-tui report — {data['date']}", "",
             f"Command: `{data['command']}`  ", f"Home model: {data['model']} ({data['model_version']})  ",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()), "",
             f"Total time: {data['elapsed_s']:.1f} s.", ""]
    ev = data.get("eval")
    if ev:
        lines += [f"## Offline evaluation ({ev['protocol']}, K={ev['k']}, seeds "
                  f"{', '.join(map(str, ev['seeds']))}; mean ± std)", "",
                  "| model | P@10 | R@10 | NDCG@10 | MAP@10 | coverage | personalization | fit s |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, cols in ev["summary"].items():
            cells = [f"{cols[m]['mean']:.4f} ± {cols[m]['std']:.4f}" for m in
                     ("precision", "recall", "ndcg", "map", "coverage", "personalization")]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {cols['fit_s']['mean']:.2f} |")
        lines.append("")
    rp = data.get("replay")
    if rp:
        lines += [f"## Prequential replay ({rp['events']:,} events after the first "
                  f"{rp['train_fraction']:g} by time; {rp['n_new_events']:,} from users new since the "
                  f"split, {rp['n_returning_events']:,} from returning users)", "",
                  "| strategy | HR@10 | new users | returning | µs/event | what |",
                  "|---|---|---|---|---|---|"]
        for name, s in rp["strategies"].items():
            lines.append(f"| {name} | {_fmt(s['hr_at_10'])} | {_fmt(s['hr_new'])} | "
                         f"{_fmt(s['hr_returning'])} | {s['us_per_event']:.0f} | {s['description']} |")
        lines += ["", "Ratios: " + ", ".join(f"{k} {v:.2f}×" for k, v in rp["ratios"].items()), "",
                  f"Batch model retrained on the first part: {rp['model']} {rp['model_params']}.", "",
                  f"engine.record: {rp['record_us_per_event']:.0f} µs/event (shared by every learning "
                  f"strategy); walk {rp['elapsed_s']:.1f} s, setup {rp['setup_s']:.1f} s. Events in the "
                  f"log: {rp['engine_path']['log_events']:,}; applied to the store: "
                  f"{rp['engine_path']['store_events']:,}.", ""]
    ad = data.get("adaptation")
    if ad:
        lines += ["## Adaptation (one 5-star rating of an unseen top-200 movie)", "",
                  "| users | lists changed | mean changed positions | mean new items | rated movie shown |",
                  "|---|---|---|---|---|",
                  f"| {ad['users']} | {100 * ad['changed_share']:.1f}% | "
                  f"{ad['mean_changed_positions']:.2f} | {ad['mean_new_items']:.2f} | "
                  f"{ad['rated_item_shown']} |", ""]
    df = data.get("differentiation")
    if df:
        lines += [f"## Differentiation (top-10 over {df['users']} users)", "",
                  "| model | personalization | coverage@10 |", "|---|---|---|"]
        for name, row in df["rows"].items():
            lines.append(f"| {name} | {row['personalization']:.4f} | {row['coverage']:.4f} |")
        lines.append("")
    return "\n".join(lines)


def build_report(home: Home, out: Path | None = None, *, seeds: list[int] | None = None,
                 models: list[str] | None = None, limit: int | None = None, adapt_users: int = 200,
                 command: str = "", say: Callable[[str], None] | None = None) -> tuple[Path, dict]:
    """Eval + replay + adaptation + differentiation → ``report-<date>.md`` and ``.json`` in ``out``.

    ``limit`` caps the replay events and the adaptation users (for quick runs).
    """
    from recsys_tui.models.registry import MODEL_NAMES
    from recsys_tui.training.evaluate import evaluate
    from recsys_tui.training.replay import run_replay

    say = say or (lambda _text: None)
    start = time.perf_counter()
    seeds = seeds or [42, 43, 44, 45, 46]
    models = models or [m for m in ("als", "ease", "hybrid") if m in MODEL_NAMES]
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise ReportError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODEL_NAMES)}")
    out = out or home.reports
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create {out}: {exc.strerror or exc}") from None
    version = artifacts.current_version(home.artifacts)
    if version is None:
        raise ReportError(f"no trained model in {home.artifacts}; run `recsys-tui train`")
    manifest = artifacts.read_manifest(home.artifacts / version)
    date = time.strftime("%Y-%m-%d")
    data: dict = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command or "build_report()",
                  "model": manifest.get("model"), "model_version": version, "versions": versions(),
                  "argv": sys.argv}
    say(f"eval: {', '.join(models)} over seeds {seeds}")
    dataset = load_dataset(home.data, home.dataset)
    data["eval"] = evaluate(dataset, {m: {} for m in models}, "stratified", seeds).to_json()
    data["eval"].pop("runs", None)
    say("replay")
    data["replay"] = run_replay(home, limit=limit).to_json()
    say("adaptation and differentiation")
    adapt, diff = adaptation_and_differentiation(home, min(adapt_users, limit or adapt_users))
    data["adaptation"] = asdict(adapt)
    data["differentiation"] = asdict(diff)
    data["elapsed_s"] = time.perf_counter() - start
    md_path = out / f"report-{date}.md"
    atomic_write_bytes(md_path, markdown(data).encode())
    atomic_write_json(out / f"report-{date}.json", data)
    return md_path, data
