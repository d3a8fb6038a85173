"""Typed messages the workers post to the UI thread (widgets are only touched in their handlers)."""

from __future__ import annotations

from typing import Any

from recsys_tui.core.results import EventResult, MovieRow, Profile, RecList, SimilarList, UserSummary
from recsys_tui.tui.services import EngineAPI
from textual.message import Message


class SetupProgress(Message):
    """A first-run stage started or a download advanced (``fraction`` None: unknown)."""

    def __init__(self, text: str, fraction: float | None) -> None:
        super().__init__()
        self.text = text
        self.fraction = fraction


class EngineReady(Message):
    """The engine is open; the app can log a user in."""

    def __init__(self, engine: EngineAPI, setup_ran: bool) -> None:
        super().__init__()
        self.engine = engine
        self.setup_ran = setup_ran


class SetupNeeded(Message):
    """The home has no dataset or no published model yet: the start-up screen fetches and trains."""


class UsersLoaded(Message):
    """Every user for the login table (the text the filter searches follows in ``UsersIndexed``)."""

    def __init__(self, users: list[UserSummary], opened: EngineAPI | None = None) -> None:
        super().__init__()
        self.users = users
        self.opened = opened
        """The engine, when the login screen opened it (the app had none yet)."""


class UsersIndexed(Message):
    """The text the login filter searches for each of ``users`` (made after the table is shown:
    0.2 s at 162k users)."""

    def __init__(self, users: list[UserSummary], hays: list[str]) -> None:
        super().__init__()
        self.users = users
        self.hays = hays


class UserChosen(Message):
    """The person picked a user (or created a new one) on the login screen."""

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id


class MovieHighlighted(Message):
    """The cursor moved onto a movie in the catalogue or the recommendation list."""

    def __init__(self, item_id: int, row: MovieRow | None = None) -> None:
        super().__init__()
        self.item_id = item_id
        self.row = row


class SearchDone(Message):
    """Catalogue rows for ``text`` (and ``genre``)."""

    def __init__(self, text: str, genre: str | None, rows: list[MovieRow]) -> None:
        super().__init__()
        self.text = text
        self.genre = genre
        self.rows = rows


class RecsReady(Message):
    """A fresh recommendation list (log-in, index or model change, another session's events),
    plus the profile; ``rows``: catalogue rows of the movies another session changed."""

    def __init__(self, recs: RecList, profile: Profile, reason: str,
                 rows: tuple[MovieRow, ...] = ()) -> None:
        super().__init__()
        self.recs = recs
        self.profile = profile
        self.reason = reason
        self.rows = rows


class EventRecorded(Message):
    """An interaction (rating, click or undo) was logged; ``t0_ns`` is when its key was handled;
    ``previous`` is the rating a new rating replaced (None: a first rating)."""

    def __init__(self, result: EventResult, profile: Profile, movie: MovieRow, t0_ns: int,
                 previous: float | None = None) -> None:
        super().__init__()
        self.result = result
        self.profile = profile
        self.movie = movie
        self.t0_ns = t0_ns
        self.previous = previous


class NothingChanged(Message):
    """A benign no-op (the same rating again, nothing to undo): information, not an error."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class MovieLoaded(Message):
    """The detail row of one movie (with the user's rating)."""

    def __init__(self, row: MovieRow) -> None:
        super().__init__()
        self.row = row


class SimilarReady(Message):
    """"More like this" for a movie, with catalogue rows for the items found."""

    def __init__(self, similar: SimilarList, rows: list[MovieRow], title: str) -> None:
        super().__init__()
        self.similar = similar
        self.rows = rows
        self.title = title


class RetrainProgress(Message):
    """A retraining stage started (load, fit, publish, reload)."""

    def __init__(self, stage: str) -> None:
        super().__init__()
        self.stage = stage


class RetrainDone(Message):
    """A new model version is published and loaded into the running engine."""

    def __init__(self, version: str, refolded: int, recs: RecList, profile: Profile,
                 model: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.version = version
        self.refolded = refolded
        self.recs = recs
        self.profile = profile


class ReplayPoint(Message):
    """One point of a moving-window HR@10 curve."""

    def __init__(self, strategy: str, events: int, hr: float) -> None:
        super().__init__()
        self.strategy = strategy
        self.events = events
        self.hr = hr


class ReplayDone(Message):
    """The learning replay finished; ``report`` is the replay's report object."""

    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report


class Exported(Message):
    """Recommendations were written to a CSV file."""

    def __init__(self, path: str, rows: int) -> None:
        super().__init__()
        self.path = path
        self.rows = rows
