"""Serving features from the store: when may a process use what another process wrote?

Every process keeps an in-process view of each user it serves (ratings, clicks, the folded-in
vector) tagged with ``last_event_id``, the id of the newest logged event (undo markers included)
the view reflects. The store holds the same per user, written atomically with the user's
``last_event_id`` (the store's per-user watermark). The rule:

* A view whose ``last_event_id`` equals the store's may be served as is.
* A view older than the store's watermark is brought forward from the store alone when the
  store's recent list explains the whole gap: every newer event is in the list and the store's
  counts equal the view's plus those events (this fails when an undo cancelled an event the view
  already holds, or when more than ``RECENT_CAP`` events arrived). The stored embedding is used
  as the user's vector only if it was written for the same model version and the same
  ``last_event_id`` (its tag is ``version@id``); otherwise the process folds in locally.
* Anything else re-reads that one user's events from the log (never the whole history).
* With the store down the view is checked against the log instead (one indexed query).

So a process never serves a view older than the newest event that the store or the log had
when the request began; staleness is bounded by one round trip, not by a cache lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass

from recsys_tui.core.event_log import Event
from recsys_tui.core.feature_store import UserFeatures


def embedding_tag(version: str, last_event_id: int) -> str:
    """The ``emb_version`` written with a vector: the model version and the event it reflects."""
    return f"{version}@{last_event_id}"


@dataclass(frozen=True)
class Catch:
    """How to bring a view forward: ``events`` to overlay (id order), or ``rebuild`` from the log."""

    rebuild: bool
    events: tuple[Event, ...] = ()
    use_embedding: bool = False


def plan(user_id: int, view_last_id: int, view_live: int, feats: UserFeatures, version: str) -> Catch:
    """Decide how a view (``view_live`` live events up to ``view_last_id``) reaches ``feats``."""
    if feats.last_event_id <= view_last_id:
        return Catch(rebuild=False)
    newer = sorted((r for r in feats.recent if r[0] > view_last_id), key=lambda r: r[0])
    live_in_store = sum(feats.counts.values())
    explained = bool(newer) and newer[-1][0] == feats.last_event_id \
        and live_in_store == view_live + len(newer)
    if not explained:
        return Catch(rebuild=True)
    events = tuple(Event(eid, user_id, item, kind, rating, 0) for eid, item, kind, rating in newer)
    tag_ok = feats.embedding is not None \
        and feats.embedding_version == embedding_tag(version, feats.last_event_id)
    return Catch(rebuild=False, events=events, use_embedding=tag_ok)
