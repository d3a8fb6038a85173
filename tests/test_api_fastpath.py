"""The API's hot path: an unchanged user's list answered on the event loop from the worker's cache
(never waiting behind the engine), dropped as soon as the log moves (also by another process's
event), strict query parsing, and the garbage collector's pauses in /metrics."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import subprocess
import sys
import threading

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from recsys_tui.api.app import create_app
from recsys_tui.api.cache import ListCache, encode_head, hit_body
from recsys_tui.api.config import ApiConfig
from recsys_tui.api.fastpath import DEFAULT_K, recommend_args
from recsys_tui.api.gcwatch import GcPauses, full_collections
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("query,args", [
    (b"user=7", (7, DEFAULT_K)), (b"user=7&k=5", (7, 5)), (b"k=5&user=7", (7, 5)),
    (b"user=007&k=0010", (7, 10)),
])
def test_plain_queries_are_parsed(query, args):
    assert recommend_args(query) == args


@pytest.mark.parametrize("query", [b"", b"user=", b"user=-7", b"user=7&k=5&k=6", b"user=7&x=1", b"user=%37",
                                   b"user=7.0", b"user= 7", b"k=5", b"user=12345678901", b"user=7&"])
def test_anything_else_goes_to_the_validating_route(query):
    assert recommend_args(query) is None


def test_a_cached_answer_is_the_json_it_replaces():
    cache = ListCache()
    payload = {"user": 3, "items": [{"rank": 1, "title": "Amélie \"quoted\""}], "timings_ms": {"total": 1.0},
               "cached": False}
    cache.put(3, 10, "v1", payload)
    body = json.loads(hit_body(cache.get(3, 10, "v1"), 0.01234567))
    assert body == {"user": 3, "items": payload["items"], "timings_ms": {"cache": 0.0123, "total": 0.0123},
                    "cached": True}
    assert cache.get(3, 10, "v2") is None and cache.get(3, 5, "v1") is None
    cache.drop(3)
    assert cache.get(3, 10, "v1") is None and len(cache) == 0
    assert encode_head({"a": 1}) == b'{"a":1'


@pytest.fixture()
def api_home(tmp_path, trained_home_template) -> Home:
    shutil.copytree(trained_home_template, tmp_path / "home")
    return Home(tmp_path / "home")


@pytest.fixture()
def engine(api_home):
    eng = Engine.open(api_home)
    yield eng
    eng.close()


def _get_in_thread(client: TestClient, params: dict, box: dict, key: str) -> threading.Thread:
    """GET /recommend from another thread; the answer lands in ``box[key]``."""
    worker = threading.Thread(target=lambda: box.setdefault(key, client.get("/recommend", params=params)))
    worker.start()
    return worker


def test_a_cached_list_is_answered_while_the_engine_is_busy(engine):
    with TestClient(create_app(ApiConfig(str(engine.home.root)), engine=engine)) as c:
        first = c.get("/recommend", params={"user": 21, "k": 5}).json()
        assert first["cached"] is False
        box: dict = {}
        with engine._lock:  # the engine is busy (as with an event's fold-in or a user's rebuild):
            miss = _get_in_thread(c, {"user": 22}, box, "miss")  # a list the cache lacks takes the
            miss.join(0.5)  # engine's thread and waits there …
            miss_waited = miss.is_alive()
            hit = _get_in_thread(c, {"user": 21, "k": 5}, box, "hit")  # … the cached one does not
            hit.join(10)
            hit_waited = hit.is_alive()
        miss.join(30)
        hit.join(30)
        assert miss_waited and not hit_waited, "the cached answer waited for the engine"
        resp = box["hit"]
        body = resp.json()
        assert resp.status_code == 200 and body["cached"] is True and body["items"] == first["items"]
        assert resp.headers["content-type"] == "application/json"
        samples = [s for f in text_string_to_metric_families(c.get("/metrics").text) for s in f.samples]
        hits = [s.value for s in samples if s.name == "recsys_engine_step_seconds_count"
                and s.labels == {"op": "recommend", "step": "cache"}]
        answered = [s.value for s in samples if s.name == "recsys_http_requests_total"
                    and s.labels == {"route": "/recommend", "method": "GET", "status": "200"}]
        assert hits == [1.0] and answered == [3.0]


def test_another_process_event_is_seen_before_the_next_answer(engine, api_home):
    with TestClient(create_app(ApiConfig(str(api_home.root)), engine=engine)) as c:
        first = c.get("/recommend", params={"user": 33}).json()
        assert c.get("/recommend", params={"user": 33}).json()["cached"] is True
        other = Engine.open(api_home)  # another process's engine: its own log connection
        try:
            top = first["items"][0]["item_id"]
            other.record(33, top, "rating", 5)
            want = other.recommend(33).item_ids
        finally:
            other.close()
        after = c.get("/recommend", params={"user": 33}).json()
        assert after["cached"] is False and top not in [i["item_id"] for i in after["items"]]
        assert [i["item_id"] for i in after["items"]] == want
        assert c.get("/recommend", params={"user": 33}).json()["cached"] is True


def test_another_process_event_costs_other_users_no_trip_to_the_engine(engine, api_home):
    """While the engine is busy, another process logs an event for user 35: the loop reads it
    itself, so user 34's cached list is still answered at once and only user 35 needs the engine."""
    with TestClient(create_app(ApiConfig(str(api_home.root)), engine=engine)) as c:
        first = {u: c.get("/recommend", params={"user": u}).json() for u in (34, 35)}
        box: dict = {}
        with engine._lock:
            busy = _get_in_thread(c, {"user": 36}, box, "busy")  # takes the engine's thread, waits
            busy.join(0.5)
            other = Engine.open(api_home)
            try:
                other.record(35, first[35]["items"][0]["item_id"], "rating", 5)
            finally:
                other.close()
            hit = _get_in_thread(c, {"user": 34}, box, "hit")
            hit.join(10)
            hit_waited = hit.is_alive()
            changed = _get_in_thread(c, {"user": 35}, box, "changed")
            changed.join(0.5)
            changed_waited = changed.is_alive()
        for t in (busy, hit, changed):
            t.join(30)
        assert changed_waited and not hit_waited
        assert box["hit"].json()["cached"] is True and box["hit"].json()["items"] == first[34]["items"]
        assert box["changed"].json()["cached"] is False


def test_no_cache_means_every_answer_comes_from_the_engine(engine):
    with TestClient(create_app(ApiConfig(str(engine.home.root), cache=False), engine=engine)) as c:
        c.get("/recommend", params={"user": 5})
        assert c.get("/recommend", params={"user": 5}).json()["cached"] is False


def test_a_query_the_fast_path_refuses_still_gets_the_routes_answer(engine):
    with TestClient(create_app(ApiConfig(str(engine.home.root)), engine=engine)) as c:
        c.get("/recommend", params={"user": 8})
        resp = c.get("/recommend?user=8&k=10&k=10")  # not plain: FastAPI takes the last k
        assert resp.status_code == 200 and resp.json()["cached"] is True
        assert c.get("/recommend?user=8&k=abc").status_code == 400


def test_gc_pauses_are_exported_while_the_app_runs(engine):
    before = len(gc.callbacks)
    with TestClient(create_app(ApiConfig(str(engine.home.root)), engine=engine)) as c:
        assert len(gc.callbacks) == before + 1
        gc.collect()
        samples = [s for f in text_string_to_metric_families(c.get("/metrics").text) for s in f.samples]
    assert len(gc.callbacks) == before
    counts = {s.labels["generation"]: s.value for s in samples if s.name == "recsys_gc_pause_seconds_count"}
    assert counts.get("2", 0) >= 1


def test_a_serving_worker_freezes_its_start_up_heap_and_paces_full_collections():
    code = ("import gc; from recsys_tui.api.gcwatch import serving_gc; serving_gc(); "
            "print(gc.get_freeze_count() > 10_000, gc.get_threshold()[2] > 10**6)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_paced_full_collections_run_when_generation_2_got_objects():
    pauses = GcPauses()
    seen: list[int] = []

    async def briefly() -> None:
        task = asyncio.create_task(full_collections(every_s=0.02))
        await asyncio.sleep(0.2)
        task.cancel()

    pauses.install()
    try:
        gc.collect(1)  # promotes survivors: generation 2 has news
        asyncio.run(briefly())
    finally:
        pauses.uninstall()
    pauses.flush(lambda generation, seconds: seen.append(generation))
    assert 2 in seen
