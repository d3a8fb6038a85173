"""What a prequential replay reports: the strategies it compares, one row per strategy, the whole
report with its moving-window curves, and the report's JSON (``training.replay`` runs it)."""

from __future__ import annotations

from dataclasses import dataclass, field

K = 10
STRATEGIES: dict[str, str] = {
    "frozen": "batch model, never updated; users unseen in training get static training popularity",
    "popularity": "online counts from the feature store (engine.popular_items)",
    "foldin": "the product path: engine.recommend (exact ALS fold-in after every event)",
    "ease": "online EASE: recency-decayed history × B, one row of B per rating",
    "transitions": "online sequential co-occurrence of the user's latest items",
    "blend": "z-scored fold-in + EASE + transitions + a fading popularity prior",
    "frozen_nofallback": "context only: frozen, but users unseen in training get no list",
}
LEARNS = {"popularity", "foldin", "ease", "transitions", "blend"}




@dataclass
class ReplayRow:
    """One strategy's result."""

    strategy: str
    hr_at_10: float
    hr_new: float
    hr_returning: float
    us_per_event: float
    events: int
    hits: int
    score_us: float
    description: str


@dataclass
class ReplayReport:
    """Every strategy's row and moving-window curve, plus how the run was set up."""

    rows: list[ReplayRow]
    curves: dict[str, list[tuple[int, float]]]
    events: int
    n_new_events: int
    n_returning_events: int
    train_fraction: float
    window: int
    n_train: int
    model: str
    model_params: dict
    online_params: dict
    record_us_per_event: float
    setup_s: float
    elapsed_s: float
    log_events: int
    store_watermark: int
    store_events: int
    extra: dict = field(default_factory=dict)

    def row(self, strategy: str) -> ReplayRow | None:
        return next((r for r in self.rows if r.strategy == strategy), None)

    def ratio(self, a: str, b: str) -> float | None:
        ra, rb = self.row(a), self.row(b)
        if ra is None or rb is None or rb.hr_at_10 == 0:
            return None
        return ra.hr_at_10 / rb.hr_at_10

    def to_json(self) -> dict:
        ratios = {f"{a}/{b}": self.ratio(a, b) for a in ("foldin", "ease", "blend")
                  for b in ("popularity", "frozen") if self.ratio(a, b) is not None}
        return {
            "events": self.events,
            "n_new_events": self.n_new_events,
            "n_returning_events": self.n_returning_events,
            "k": K,
            "train_fraction": self.train_fraction,
            "window": self.window,
            "n_train_ratings": self.n_train,
            "model": self.model,
            "model_params": self.model_params,
            "online_params": self.online_params,
            "record_us_per_event": self.record_us_per_event,
            "setup_s": self.setup_s,
            "elapsed_s": self.elapsed_s,
            "engine_path": {"log_events": self.log_events, "store_watermark": self.store_watermark,
                            "store_events": self.store_events},
            "strategies": {
                r.strategy: {"hr_at_10": r.hr_at_10, "hr_new": r.hr_new, "hr_returning": r.hr_returning,
                             "us_per_event": r.us_per_event, "score_us": r.score_us, "hits": r.hits,
                             "events": r.events, "description": r.description}
                for r in self.rows
            },
            "ratios": ratios,
            "curves": {s: [[n, h] for n, h in c] for s, c in self.curves.items()},
            **self.extra,
        }
