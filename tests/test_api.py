"""HTTP API contract (FastAPI's TestClient over a real engine on the real ML-100K): every route,
every error with the CLI's one-line message and the right status, /metrics, /docs, token auth."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from recsys_tui.api.app import create_app
from recsys_tui.api.config import ApiConfig
from recsys_tui.api.errors import one_line
from recsys_tui.core.engine import Engine, EngineError
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.home import Home

pytestmark = pytest.mark.integration

ITEM_KEYS = {"rank", "item_id", "title", "score", "reason"}


@pytest.fixture(scope="module")
def api_home(tmp_path_factory, trained_home_template) -> Home:
    root = tmp_path_factory.mktemp("api") / "home"
    shutil.copytree(trained_home_template, root)
    return Home(root)


@pytest.fixture(scope="module")
def engine(api_home):
    eng = Engine.open(api_home)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(ApiConfig(str(engine.home.root)), engine=engine)) as c:
        yield c


def cli_message(call) -> str:
    """The one line the CLI prints for the engine's refusal (after ``recsys-tui: error:``)."""
    with pytest.raises(EngineError) as info:
        call()
    return one_line(info.value)


def assert_error(resp, status: int, message: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status and "\n" not in body["error"] and body["error"]
    if message is not None:
        assert body["error"] == message


def test_recommend_answers_k_items_with_reasons_and_timings(client, engine):
    resp = client.get("/recommend", params={"user": 7, "k": 5})
    assert resp.status_code == 200
    body = resp.json()
    assert body["user"] == 7 and body["personal"] is True and body["model_version"] == engine.version
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4, 5]
    assert all(set(i) == ITEM_KEYS for i in body["items"])
    assert [i["item_id"] for i in body["items"]] == engine.recommend(7, 5).item_ids
    assert body["timings_ms"]["total"] > 0 and "search" in body["timings_ms"]


@pytest.mark.parametrize("params", [{"user": "abc"}, {}, {"user": 7, "k": "x"}, {"user": "1.5"}])
def test_recommend_rejects_malformed_query_with_400(client, params):
    assert_error(client.get("/recommend", params=params), 400)


def test_recommend_errors_carry_the_cli_message(client, engine):
    assert_error(client.get("/recommend", params={"user": 99999}), 404,
                 cli_message(lambda: engine.recommend(99999)))
    assert_error(client.get("/recommend", params={"user": 7, "k": 0}), 400,
                 cli_message(lambda: engine.recommend(7, 0)))
    assert_error(client.get("/recommend", params={"user": -3}), 400,
                 cli_message(lambda: engine.recommend(-3)))


def test_event_is_logged_and_answers_the_new_list(client, engine):
    top = client.get("/recommend", params={"user": 12, "k": 10}).json()["items"][0]["item_id"]
    before = engine.log.count()
    resp = client.post("/events", json={"user": 12, "item": top, "kind": "rating", "rating": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["kind"] == "rating" and body["rating"] == 5 and body["item"] == top
    assert top in body["before"] and top not in [i["item_id"] for i in body["items"]]
    assert all(set(i) == ITEM_KEYS for i in body["items"]) and len(body["items"]) == 10
    assert {"log", "foldin", "features", "search", "total"} <= set(body["timings_ms"])
    assert engine.log.count() == before + 1
    history = client.get("/users/12/history").json()
    assert history["user"] == 12 and history["events"][-1]["event_id"] == body["event_id"]
    assert history["events"][-1]["item_id"] == top


def test_a_whole_float_rating_is_accepted(client):
    resp = client.post("/events", json={"user": 14, "item": 100, "kind": "rating", "rating": 4.0})
    assert resp.status_code == 200 and resp.json()["rating"] == 4.0


def test_click_needs_no_rating(client):
    resp = client.post("/events", json={"user": 13, "item": 100, "kind": "click"})
    assert resp.status_code == 200 and resp.json()["kind"] == "click" and resp.json()["rating"] is None


@pytest.mark.parametrize("body,status", [
    ({"user": 13, "item": 100, "kind": "rating", "rating": 6}, 400),
    ({"user": 13, "item": 100, "kind": "rating", "rating": 0}, 400),
    ({"user": 13, "item": 100, "kind": "rating"}, 400),
    ({"user": 13, "item": 100, "kind": "click", "rating": 4}, 400),
    ({"user": 13, "item": 100, "kind": "buy"}, 400),
    ({"user": 13, "item": 100, "kind": "rating", "rating": 4, "extra": 1}, 400),
    ({"user": "x", "item": 100, "kind": "click"}, 400),
    ({"user": 13, "kind": "click"}, 400),
    ({"user": 13, "item": 100, "kind": "click", "k": 0}, 400),
    ({"user": True, "item": 100, "kind": "click"}, 400),
    ({"user": "13", "item": 100, "kind": "click"}, 400),
    ({"user": 13, "item": 100, "kind": "rating", "rating": True}, 400),
    ({"user": 13, "item": 100, "kind": "rating", "rating": 4.5}, 400),
    ({"user": 13, "item": 100, "kind": "rating", "rating": "5"}, 400),
    ({"user": 13, "item": 100.0, "kind": "click"}, 400),
    ({"user": 99999, "item": 100, "kind": "click"}, 404),
    ({"user": 13, "item": 99999, "kind": "click"}, 404),
])
def test_bad_events_are_refused_and_nothing_is_logged(client, engine, body, status):
    before = engine.log.count()
    assert_error(client.post("/events", json=body), status)
    assert engine.log.count() == before


def test_event_errors_match_the_cli(client, engine):
    assert_error(client.post("/events", json={"user": 13, "item": 99999, "kind": "click"}), 404,
                 cli_message(lambda: engine.record(13, 99999, "click")))
    assert_error(client.post("/events", json={"user": 13, "item": 5, "kind": "rating", "rating": 6}), 400,
                 cli_message(lambda: engine.record(13, 5, "rating", 6)))


def test_malformed_json_body_is_400(client):
    resp = client.post("/events", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(resp, 400)


def test_similar_and_its_errors(client, engine):
    body = client.get("/similar", params={"item": 50, "k": 3}).json()
    assert body["item"] == 50 and body["title"] == engine.catalogue.title(50)
    assert [i["item_id"] for i in body["items"]] == [s.item_id for s in engine.similar(50, 3).items]
    assert all(set(i) == ITEM_KEYS for i in body["items"]) and 50 not in [i["item_id"] for i in body["items"]]
    assert_error(client.get("/similar", params={"item": 99999}), 404,
                 cli_message(lambda: engine.similar(99999)))
    assert_error(client.get("/similar", params={"item": "star"}), 400)


def test_history_errors(client, engine):
    assert_error(client.get("/users/99999/history"), 404, cli_message(lambda: engine.history(99999)))
    assert_error(client.get("/users/abc/history"), 400)


def test_new_user_starts_cold_and_learns(client):
    resp = client.post("/users")
    assert resp.status_code == 201
    user = resp.json()["user"]
    assert user > 943
    cold = client.get("/recommend", params={"user": user}).json()
    assert cold["personal"] is False and len(cold["items"]) == 10
    warm = client.post("/events", json={"user": user, "item": 50, "kind": "rating", "rating": 5}).json()
    assert warm["personal"] is True


def test_healthz_and_unknown_route(client, engine):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["degraded"] is None and body["model_version"] == engine.version
    assert_error(client.get("/nope"), 404)


def test_metrics_parse_as_prometheus_text(client, engine):
    client.get("/recommend", params={"user": 20})
    client.get("/recommend", params={"user": 99999})
    client.post("/events", json={"user": 20, "item": 1, "kind": "click"})
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    requests = {(s.labels["route"], s.labels["status"]): s.value
                for s in families["recsys_http_requests"].samples if s.name.endswith("_total")}
    assert requests[("/recommend", "200")] >= 1 and requests[("/recommend", "404")] >= 1
    assert requests[("/events", "200")] >= 1
    buckets = [s for s in families["recsys_http_request_duration_seconds"].samples
               if s.name.endswith("_count") and s.labels["route"] == "/recommend"]
    assert buckets and buckets[0].value >= 2
    steps = {(s.labels["op"], s.labels["step"]) for s in families["recsys_engine_step_seconds"].samples}
    assert {("recommend", "search"), ("event", "foldin"), ("event", "total")} <= steps
    clicks = [s.value for s in families["recsys_events_recorded"].samples
              if s.name.endswith("_total") and s.labels["kind"] == "click"]
    assert clicks and clicks[0] >= 1
    assert families["recsys_store_up"].samples[0].value == 1.0
    assert families["recsys_model_info"].samples[0].labels["version"] == engine.version
    assert families["recsys_event_log_last_id"].samples[0].value == engine.log.max_id()


def test_docs_are_served_without_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static-offline-docs/{asset}" in page.text
        assert client.get(f"/static-offline-docs/{asset}").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/recommend", "/events", "/similar", "/users", "/users/{user_id}/history", "/healthz",
            "/metrics"} <= set(spec["paths"])


def test_token_guards_every_route_but_healthz(engine):
    token = "s3cret-Token_123"
    with TestClient(create_app(ApiConfig(str(engine.home.root), token=token), engine=engine)) as c:
        assert c.get("/healthz").status_code == 200
        for path in ("/recommend?user=1", "/metrics", "/docs", "/openapi.json", "/users/1/history"):
            assert_error(c.get(path), 401)
            assert_error(c.get(path, headers={"Authorization": "Bearer wrong"}), 401)
            assert_error(c.get(path, headers={"Authorization": token}), 401)
            assert token not in c.get(path).text
        assert_error(c.post("/events", json={"user": 1, "item": 1, "kind": "click"}), 401)
        ok = c.get("/recommend", params={"user": 1}, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    assert token not in repr(ApiConfig(token=token))


def test_log_unavailable_is_503(api_home, tmp_path):
    eng = Engine.open(api_home)
    with TestClient(create_app(ApiConfig(str(api_home.root)), engine=eng)) as c:
        assert c.get("/recommend", params={"user": 3}).status_code == 200
        eng.log.close()
        # a user whose answer is not cached needs the engine's log (a cached one is checked for
        # freshness through the loop's own connection, which this close does not reach)
        resp = c.get("/recommend", params={"user": 4})
        assert_error(resp, 503)
        assert "event log" in resp.json()["error"]


@pytest.mark.redis
def test_store_down_degrades_to_the_log(api_home, redis_server):
    eng = Engine.open(api_home, redis_server.url)
    try:
        with TestClient(create_app(ApiConfig(str(api_home.root), redis_server.url), engine=eng)) as c:
            assert c.get("/healthz").json()["status"] == "ok"
            redis_server.stop()
            body = c.post("/events", json={"user": 30, "item": 50, "kind": "rating", "rating": 4}).json()
            assert body["degraded"] and len(body["items"]) == 10
            health = c.get("/healthz").json()
            assert health["status"] == "degraded" and health["degraded"]
            assert c.get("/recommend", params={"user": 30}).status_code == 200
            families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
            assert families["recsys_store_up"].samples[0].value == 0.0
        assert [e.id for e in EventLog(api_home.event_log).events(30)][-1] == body["event_id"]
    finally:
        eng.close()


def test_an_unchanged_users_list_comes_from_the_cache_until_their_next_event(client):
    first = client.get("/recommend", params={"user": 77}).json()
    again = client.get("/recommend", params={"user": 77}).json()
    assert again["cached"] is True and again["items"] == first["items"]
    assert set(again["timings_ms"]) == {"cache", "total"}
    top = first["items"][0]["item_id"]
    event = client.post("/events", json={"user": 77, "item": top, "kind": "rating", "rating": 5}).json()
    after = client.get("/recommend", params={"user": 77}).json()
    assert after["cached"] is False and after["items"] == event["items"]
    assert top not in [i["item_id"] for i in after["items"]]


def test_cold_start_lists_are_never_cached(client):
    user = client.post("/users").json()["user"]
    client.get("/recommend", params={"user": user})
    assert client.get("/recommend", params={"user": user}).json()["cached"] is False
