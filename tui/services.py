"""What the app needs from outside its room, injected by ``recsys_tui.app_factory``.

The ``tui`` room may import ``core`` and ``data`` only, so first-run setup, retraining and the
prequential replay (which live in ``recsys_tui`` and ``training``) reach the app as plain callables.
Every one of them runs inside a Textual thread worker, never on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from recsys_tui.core.results import (
    EventResult,
    MovieRow,
    Profile,
    RecList,
    SimilarList,
    UserSummary,
)


class EngineAPI(Protocol):
    """The part of ``core.engine.Engine`` the app uses.

    The app receives the engine object from ``recsys_tui.app_factory``; it does not import
    ``core.engine`` itself, because that module reaches Redis and FAISS, which the import contract
    keeps out of the ``tui`` room even indirectly.
    """

    home: Any  # core.home.Home: .reports is where exports go
    catalogue: Any  # core.catalogue.Catalogue: .movies, .title(item_id)
    trained: Any  # .name of the model
    index: Any  # .kind, or None
    store: Any  # .kind
    version: str
    degraded: str | None
    half_stars: bool  # the data set rates in half stars (0.5–5)

    def recommend(self, user_id: int, k: int = ...) -> RecList: ...
    def record(self, user_id: int, item_id: int, kind: str = ..., rating: float | None = ...,
               ts: int | None = ..., k: int = ..., with_before: bool = ...,
               with_view: bool = ...) -> EventResult: ...
    def rate(self, user_id: int, item_id: int, rating: float, k: int = ..., with_view: bool = ...
             ) -> tuple[float | None, EventResult | None]: ...
    def undo_last(self, user_id: int, k: int = ..., with_view: bool = ...) -> EventResult: ...
    def history(self, user_id: int) -> list: ...
    def new_user(self) -> int: ...
    def similar(self, item_id: int, k: int = ...) -> SimilarList: ...
    def search(self, text: str = ..., genre: str | None = ..., user_id: int | None = ...,
               limit: int | None = ...) -> list[MovieRow]: ...
    def search_if_free(self, text: str = ..., genre: str | None = ..., user_id: int | None = ...,
                       limit: int | None = ...) -> list[MovieRow] | None: ...
    def movie(self, item_id: int, user_id: int | None = ...) -> MovieRow: ...
    def users(self) -> list[UserSummary]: ...
    def user(self, user_id: int) -> UserSummary: ...
    def profile(self, user_id: int, recent: int = ...) -> Profile: ...
    def reload(self, version: str | None = ..., index: str | None = ...) -> tuple[str, int]: ...
    def set_index(self, kind: str) -> None: ...
    def poll(self, user_id: int, shown: int | None = None) -> bool: ...
    def finish_open(self) -> None: ...
    def close(self) -> None: ...

SetupReport = Callable[[str, float | None], None]
"""``report(stage_text, fraction_done_or_None)``: called from the setup thread."""
StepReport = Callable[[str], None]
"""``step(stage_name)``: called from the retrain thread as each stage starts."""
PointReport = Callable[[str, int, float], None]
"""``on_point(strategy, events_done, hr_at_10_last_window)``: called from the replay thread."""


@dataclass
class Services:
    """Callables the app runs in workers.

    - ``open_engine()``: open the engine on the home (after setup, if it was needed).
    - ``needs_setup()``: True when the dataset or a published model is missing.
    - ``setup(report)``: fetch ML-100K and train the default model (first run).
    - ``retrain(step, model, save)``: train ``model`` (None: the current one) on data + the event log
      and publish it; returns the new version. ``save`` False (a model tried from the palette) keeps
      the home's default model unchanged. ``step`` may raise to stop the work before the next stage
      (before publishing). The app then calls ``engine.reload(version)``.
    - ``save_default(version)``: make a published version the home's default for later launches;
      ``default_version()``: that default now.
    - ``preferences``: the preferences file (theme, last user, layout); None: not saved.
    - ``replay(on_point)``: a short prequential replay; returns a report with ``rows`` (each having
      ``strategy``, ``hr_at_10``, ``hr_new``, ``hr_returning``, ``us_per_event``) and ``events``;
      ``replay_events`` is how many events it walks at most (the learning view's progress total).
    - ``models`` / ``indexes``: the model and index names the palette offers, or a callable giving
      them (so naming them does not import the model and index code before the app is on screen).
    """

    open_engine: Callable[[], EngineAPI]
    needs_setup: Callable[[], bool] = lambda: False
    setup: Callable[[SetupReport], None] | None = None
    retrain: Callable[[StepReport, str | None, bool], str] | None = None
    save_default: Callable[[str], None] | None = None
    default_version: Callable[[], str | None] = lambda: None
    preferences: Path | None = None
    replay: Callable[[PointReport], Any] | None = None
    replay_events: int | None = None
    models: tuple[str, ...] | Callable[[], tuple[str, ...]] = ("als", "ease", "popularity", "random")
    indexes: tuple[str, ...] | Callable[[], tuple[str, ...]] = ("flat", "hnsw", "ivf")

    def model_names(self) -> tuple[str, ...]:
        return self.models() if callable(self.models) else self.models

    def index_kinds(self) -> tuple[str, ...]:
        return self.indexes() if callable(self.indexes) else self.indexes
