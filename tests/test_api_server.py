"""``recsys-tui serve`` for real: uvicorn on a free loopback port, one and two workers sharing one
home and one real Redis, the token never in the server's output, usage errors as one line."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

pytest.importorskip("uvicorn")
import httpx
from prometheus_client.parser import text_string_to_metric_families
from recsys_tui.core.event_log import EventLog

from tests.api_helpers import CliServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def serve(home, *args, redis_url=None, env=None) -> CliServer:
    return CliServer(home.root, "serve", *args, redis_url=redis_url, env=env).start()


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recsys_tui", *argv], capture_output=True, text=True,
                          timeout=120)


def test_serve_over_http_with_a_token_that_is_never_logged(home):
    token = "tok-9f8e7d6c5b4a"
    server = serve(home, "--access-log", env={"RECSYS_TUI_API_TOKEN": token})
    try:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.get("/healthz").json()["status"] == "ok"
            assert c.get("/recommend", params={"user": 5}).status_code == 401
            wrong = {"Authorization": "Bearer x"}
            assert c.get("/recommend", params={"user": 5}, headers=wrong).status_code == 401
            body = c.get("/recommend", params={"user": 5, "k": 4}, headers=auth).json()
            assert len(body["items"]) == 4
            event = c.post("/events", json={"user": 5, "item": body["items"][0]["item_id"], "kind": "rating",
                                            "rating": 5}, headers=auth)
            assert event.status_code == 200
            assert c.get("/users/99999/history", headers=auth).status_code == 404
            metrics = c.get("/metrics", headers=auth).text
            assert "recsys_http_requests_total" in metrics
    finally:
        out, err = server.stop()
    assert "GET /recommend" in err + out  # the access log ran …
    assert token not in out and token not in err  # … and never showed the token
    assert [e.id for e in EventLog(home.event_log).events(5)] == [event.json()["event_id"]]


def _pinned_clients(url: str, want: int = 2, tries: int = 60) -> dict[int, httpx.Client]:
    """One keep-alive client per worker process (a connection stays with the worker that accepted it)."""
    clients: dict[int, httpx.Client] = {}
    for _ in range(tries):
        c = httpx.Client(base_url=url, timeout=30)
        pid = c.get("/healthz").json()["worker"]
        if pid in clients:
            c.close()
        else:
            clients[pid] = c
        if len(clients) == want:
            break
    return clients


@pytest.mark.redis
def test_an_event_posted_to_one_worker_shows_in_the_others_next_recommend(home, redis_server):
    server = serve(home, "--workers", "2", redis_url=redis_server.url)
    clients: dict[int, httpx.Client] = {}
    try:
        clients = _pinned_clients(server.url)
        assert len(clients) == 2, "the kernel never handed a connection to the second worker"
        a, b = clients.values()
        user = 42
        lists = [c.get("/recommend", params={"user": user}).json()["items"] for c in (a, b)]
        assert lists[0] == lists[1]  # both workers now hold the user's state in their cache
        top = lists[0][0]["item_id"]
        posted = a.post("/events", json={"user": user, "item": top, "kind": "rating", "rating": 5}).json()
        seen_by_b = b.get("/recommend", params={"user": user}).json()["items"]
        assert top not in [i["item_id"] for i in seen_by_b]
        assert seen_by_b == posted["items"]
        history = b.get(f"/users/{user}/history").json()["events"]
        assert [e["event_id"] for e in history] == [posted["event_id"]]
        # /metrics on either worker adds up both workers' counters (prometheus multiprocess mode)
        families = {f.name: f for f in text_string_to_metric_families(b.get("/metrics").text)}
        total = sum(s.value for s in families["recsys_http_requests"].samples
                    if s.name.endswith("_total") and s.labels["route"] == "/recommend")
        assert total == 3
        events = [s.value for s in families["recsys_events_recorded"].samples if s.name.endswith("_total")]
        assert events == [1.0]
    finally:
        for c in clients.values():
            c.close()
        server.stop()


def test_serve_usage_errors_are_one_line(home):
    result = run_cli("--home", str(home.root), "serve", "--workers", "2", "--port", "1")
    assert result.returncode == 2 and "--redis-url" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--home", str(home.root), "serve", "--port", str(port))
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    result = run_cli("--home", str(home.root), "serve", "--token", " ")
    assert result.returncode == 2 and "token" in result.stderr
    result = run_cli("--home", str(home.root), "serve", "--workers", "0")
    assert result.returncode == 2 and "--workers" in result.stderr
