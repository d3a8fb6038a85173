"""``recsys-tui scale-bench``: the product on synthetic ML-25M-shaped data at several scales."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from recsys_tui.common.errors import RecsysError
from recsys_tui.context import STATE
from recsys_tui.options import command_app
from recsys_tui.usage import UsageProblem

app = command_app()


def _scales(text: str) -> list[float]:
    try:
        scales = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageProblem(f"--scales expects comma-separated numbers, got {text!r}") from None
    if not scales or any(not 1e-4 <= s <= 1.0 for s in scales):
        raise UsageProblem(f"--scales must be between 0.0001 and 1, got {text!r}")
    return scales


@app.command("scale-bench")
def scale_bench(
    scales: Annotated[str, typer.Option(help="Comma-separated scales of ML-25M (1.0 = 25M ratings; "
                                        "needs a quiet machine and ~10 GiB free disk).")] = "0.01,0.1",
    out: Annotated[Path, typer.Option(help="Folder for scale.json, scale.md and scale.png.")]
    = Path("scale-bench"),
    events: Annotated[int, typer.Option(help="Measured ratings per index kind.")] = 300,
    workdir: Annotated[Path | None, typer.Option(
        help="Where the throw-away homes go (default: a temp folder, removed afterwards).")] = None,
) -> None:
    """Benchmark growth on SYNTHETIC data shaped like ML-25M; one table and a log–log plot.

    At each scale: load, ALS fit, index build, batch top-10, event p50/p99, app start-up,
    search per keystroke and peak RSS.
    """
    from recsys_tui.common.fsutil import atomic_write_bytes, atomic_write_json
    from recsys_tui.scale_bench import plot, run_scale, table

    scale_list = _scales(scales)
    if not 20 <= events <= 100_000:
        raise UsageProblem(f"--events must be 20–100000, got {events}")
    if workdir is not None and not workdir.is_dir():
        raise UsageProblem(f"--workdir {workdir}: no such folder (create it first)")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="recsys-tui-scale-", dir=workdir) as tmp:
        for scale in scale_list:
            STATE.err.print(f"· scale {scale:g}")
            try:
                rows.append(run_scale(Path(tmp), scale, events))
            except RuntimeError as exc:
                raise RecsysError(str(exc)) from None
            atomic_write_json(out / "scale.json", {"synthetic": True, "rows": rows})
    md = table(rows)
    atomic_write_bytes(out / "scale.md", (md + "\n").encode())
    plotted = plot(rows, out / "scale.png")
    STATE.console.print(md, markup=False, soft_wrap=True)
    STATE.console.print(json.dumps({"wrote": [str(out / "scale.json"), str(out / "scale.md")]
                                    + ([str(out / "scale.png")] if plotted else [])}))
