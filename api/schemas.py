"""Request and response shapes (they drive validation and the OpenAPI document at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt


class Item(BaseModel):
    rank: int
    item_id: int
    title: str
    score: float
    reason: str


class RecommendOut(BaseModel):
    user: int
    personal: bool = Field(description="False while the user has no positive signal (popular items)")
    model_version: str
    items: list[Item]
    timings_ms: dict[str, float] = Field(description="Milliseconds per engine step and `total`")
    degraded: str | None = Field(None, description="Why the store is down (answers come from the log)")


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: JSON true or "7" is not an id; a rating may be 5 or 5.0 (the engine wants whole stars).
    user: StrictInt = Field(description="A MovieLens user (1–943) or a user created with POST /users")
    item: StrictInt = Field(description="A MovieLens item id (1–1682)")
    kind: Literal["rating", "click"]
    rating: StrictInt | StrictFloat | None = Field(None, description="Whole stars 1–5 for a rating; "
                                                   "absent for a click")
    k: StrictInt = Field(10, description="How many recommendations to answer with (1–1000)")


class EventOut(RecommendOut):
    event_id: int
    item: int
    kind: str
    rating: float | None
    before: list[int] | None = Field(None, description="Item ids of the list before the event")


class SimilarOut(BaseModel):
    item: int
    title: str
    items: list[Item]
    timings_ms: dict[str, float]


class HistoryEvent(BaseModel):
    event_id: int
    item_id: int
    title: str
    kind: str
    rating: float | None
    ts: int


class HistoryOut(BaseModel):
    user: int
    events: list[HistoryEvent]


class NewUserOut(BaseModel):
    user: int


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    store: str
    degraded: str | None
    model_version: str
    worker: int = Field(description="Process id of the worker that answered")


class ErrorOut(BaseModel):
    error: str = Field(description="The same one-line message the CLI prints")
    status: int
