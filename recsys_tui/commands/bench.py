"""``recsys-tui bench``: event → fresh top-10 latency per step, batch throughput, index growth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recsys_tui.console import note
from recsys_tui.context import STATE
from recsys_tui.options import command_app
from recsys_tui.usage import UsageProblem

app = command_app()


def _ms(value: float) -> str:
    return f"{value:.3f}"


def events_table(report: dict) -> Table:
    from recsys_tui.core.results import STEPS

    table = Table(title=f"event → fresh top-{report['k']}: {report['events']:,} events over "
                        f"{report['users']:,} users · {report['store']} store · {report['index']} index "
                        f"(ms)", title_justify="left")
    for col in ("step", "p50", "p95", "p99", "mean"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for step in STEPS:
        row = report["steps_ms"][step]
        table.add_row(step, _ms(row["p50"]), _ms(row["p95"]), _ms(row["p99"]), _ms(row["mean"]))
    total = report["event_to_recs_ms"]
    table.add_row("event_to_recs", *(_ms(total[p]) for p in ("p50", "p95", "p99")), "", style="bold")
    call = report["record_call_ms"]
    table.add_row("record() call", *(_ms(call[p]) for p in ("p50", "p95", "p99")), "")
    return table


def headline_table(report: dict) -> Table:
    """Quiet vs contended vs the bare reference, the issue's target table."""
    table = Table(title="event → fresh top-10 (ms): quiet, contended, reference", title_justify="left")
    for col in ("run", "p50", "p95", "p99", "note"):
        table.add_column(col, justify="left" if col in ("run", "note") else "right")
    quiet = report["event_to_recs_ms"]
    table.add_row("quiet", _ms(quiet["p50"]), _ms(quiet["p95"]), _ms(quiet["p99"]), "")
    if "contended" in report:
        busy = report["contended"]
        ratio = busy["ratio_to_quiet"]
        row = busy["event_to_recs_ms"]
        table.add_row(f"contended ({busy['processes']} CPU hogs)", _ms(row["p50"]), _ms(row["p95"]),
                      _ms(row["p99"]), f"p99 {ratio['p99']:.2f}× quiet")
    if "reference_ms" in report:
        ref, ratio = report["reference_ms"], report["ratio_to_reference"]
        parts = " + ".join(f"{k} {v['p50']:.3f}" for k, v in ref["parts_ms"].items())
        table.add_row("reference (solve+search+store)", _ms(ref["p50"]), "", _ms(ref["p99"]), parts)
        table.add_row("engine ÷ reference", f"{ratio['p50']:.2f}×", "", f"{ratio['p99']:.2f}×", "")
        if "script_call_ms" in ref:
            floor = ref["script_call_ms"]
            command = ref.get("script_call_command", "EVALSHA")
            table.add_row("empty script call (store floor)", _ms(floor["p50"]), "", _ms(floor["p99"]),
                          f"one {command}, no command inside; the features step is one such call")
    return table


def threads_table(threads: dict) -> Table:
    table = Table(title="thread pools (threadpoolctl): serving path vs batch work", title_justify="left")
    for col in ("library", "api", "serving", "batch"):
        table.add_column(col, justify="left" if col in ("library", "api") else "right")
    for serve, batch in zip(threads["serving"]["libraries"], threads["batch"]["libraries"], strict=True):
        table.add_row(str(serve.get("prefix")), str(serve.get("internal_api")), str(serve["num_threads"]),
                      str(batch["num_threads"]))
    table.add_row("faiss", "omp_get_max_threads", str(threads["serving"]["faiss_omp_threads"]),
                  str(threads["batch"]["faiss_omp_threads"]))
    return table


def heavy_table(heavy: dict) -> Table:
    table = Table(title="heavy vs light users (ms, p50 / p99)", title_justify="left")
    for col in ("user", "ratings", "foldin", "rerank (reasons)", "event_to_recs"):
        table.add_column(col, justify="right")
    for user, row in heavy.items():
        table.add_row(user, str(row["ratings"]),
                      *(f"{row[k]['p50']:.3f} / {row[k]['p99']:.3f}"
                        for k in ("foldin_ms", "rerank_ms", "event_to_recs_ms")))
    return table


def batch_table(batch: dict) -> Table:
    table = Table(title=f"batch: recommend_all({batch['k']}) × {batch['runs']}", title_justify="left")
    for col in ("users", "median s", "min s", "max s", "users/s"):
        table.add_column(col, justify="right")
    table.add_row(f"{batch['users']:,}", f"{batch['median_s']:.4f}", f"{batch['min_s']:.4f}",
                  f"{batch['max_s']:.4f}", f"{batch['users_per_s']:,.0f}")
    return table


def synthetic_table(syn: dict) -> Table:
    table = Table(title=f"synthetic: {syn['items']:,} items × {syn['dim']}-d ({syn['vectors']}); "
                        f"{syn['queries']:,} single queries ({syn.get('query_vectors', '?')}), k={syn['k']}",
                  title_justify="left")
    for col in ("index", "build s", "p50 ms", "p99 ms", "recall@10", "params"):
        table.add_column(col, justify="left" if col in ("index", "params") else "right")
    for kind, row in syn["indexes"].items():
        params = " ".join(f"{k}={v}" for k, v in row["params"].items()) or "exact"
        table.add_row(kind, f"{row['build_s']:.2f}", _ms(row["p50_ms"]), _ms(row["p99_ms"]),
                      f"{row['recall_at_10']:.4f}", params)
    return table


@app.command("bench")
def bench(
    events: Annotated[int, typer.Option("--events", "-n", help="Measured events.")] = 5000,
    redis_url: Annotated[str | None, typer.Option(
        "--redis-url", help="Benchmark a real Redis (an empty database) instead of the embedded "
                            "store.")] = None,
    index: Annotated[str | None, typer.Option(
        "--index", help="Vector index: flat, hnsw or ivf (default: the model's).")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the report here.")] = None,
    synthetic_items: Annotated[int | None, typer.Option(
        "--synthetic-items", help="Also compare flat/HNSW/IVF over this many random 64-d items.")] = None,
    synthetic_kinds: Annotated[str, typer.Option(
        "--synthetic-kinds", help="Index kinds for --synthetic-items, comma-separated (flat, the "
                                  "exact reference, is always built).")] = "flat,hnsw,ivf",
    hnsw_m: Annotated[int | None, typer.Option(
        "--hnsw-m", help="HNSW graph degree M for --synthetic-items (default: the index's).")] = None,
    hnsw_ef_construction: Annotated[int | None, typer.Option(
        "--hnsw-ef-construction", help="HNSW efConstruction for --synthetic-items (default: the index's).")]
    = None,
    warmup: Annotated[int, typer.Option("--warmup", help="Unmeasured events first.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for events and vectors.")] = 0,
    contend: Annotated[int, typer.Option(
        "--contend", help="Also run the events again beside N CPU-bound background processes "
                          "(stopped by the bench) and compare.")] = 0,
    reference: Annotated[bool, typer.Option(
        "--reference", help="Also time one bare solve + FAISS search + store pipeline and report "
                            "the engine as a ratio to it.")] = False,
) -> None:
    """Measure the hot path (per step p50/p95/p99), batch throughput and index growth.

    Runs on a temporary copy of the home: your event log is never written.
    """
    from recsys_tui.common.fsutil import atomic_write_json
    from recsys_tui.training.bench import BenchError, BenchOptions, run

    graph = {k: v for k, v in (("hnsw_m", hnsw_m), ("hnsw_ef_construction", hnsw_ef_construction))
             if v is not None}
    try:
        options = BenchOptions(events=events, warmup=warmup, index=index, seed=seed,
                               redis_url=STATE.effective_redis_url(redis_url),
                               synthetic_items=synthetic_items, contend=contend,
                               synthetic_kinds=tuple(k.strip() for k in synthetic_kinds.split(",")
                                                     if k.strip()),
                               reference=reference, **graph).check()
    except BenchError as exc:
        raise UsageProblem(str(exc)) from None
    if json_file is not None and json_file.is_dir():
        raise BenchError(f"--json {json_file} is a folder; give a file name")
    home = STATE.home
    if not home.root.is_dir():
        raise BenchError(f"no home at {home.root}; run `recsys-tui train` first")

    def say(text: str) -> None:
        STATE.err.print(note(text))

    report = run(home, options, say)
    console = STATE.console
    console.print(events_table(report))
    console.print(f"events/s {report['events_per_s']:,.0f} · peak RSS {report['peak_rss_mb']:.0f} MB · "
                  f"store {report['store']} ({report['store_url']}) · model {report['model_version']}")
    console.print(headline_table(report))
    console.print(heavy_table(report["heavy_users"]))
    console.print(threads_table(report["threads"]))
    console.print(batch_table(report["batch"]))
    if "synthetic" in report:
        console.print(synthetic_table(report["synthetic"]))
    if json_file is not None:
        atomic_write_json(json_file, report)
        console.print(f"wrote {json_file}")
