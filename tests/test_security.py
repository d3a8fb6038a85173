"""Security: no pickle, checksums before use, secrets never printed, TLS, a least-privilege ACL user,
ids validated before any key or SQL, hostile text kept out of keys and queries."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import redis
from recsys_tui.common.errors import DataError
from recsys_tui.core import artifacts, keys
from recsys_tui.core.engine import Engine, EngineError
from recsys_tui.core.feature_store import ACL_COMMANDS, FeatureStore, redact
from recsys_tui.data.cache import cache_dir, load_cache

from recsys_tui import check
from tests.conftest import no_redis_binary
from tests.redis_server import REDIS_BINARY, RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "data", "models", "training", "core", "tui", "recsys_tui")
PASSWORD = "s3cr3t-Pw-77"


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


# -- no pickle, checksums first ------------------------------------------------------------------

def test_nothing_is_loaded_with_pickle():
    banned = re.compile(r"\bimport pickle\b|\bfrom pickle\b|\bcPickle\b|\bdill\b|\bjoblib\b|"
                        r"allow_pickle\s*=\s*True|\btorch\.load\b|pickle\.loads?\(")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in source_files()
            for n, line in enumerate(p.read_text().splitlines(), 1) if banned.search(line)]
    assert hits == []


def test_every_np_load_refuses_pickles():
    calls = []
    for path in source_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.load", "numpy.load"):
                flags = {kw.arg: ast.unparse(kw.value) for kw in node.keywords}
                calls.append((path.name, flags.get("allow_pickle")))
    assert calls, "expected at least the npz loader"
    assert all(flag == "False" for _, flag in calls), calls


def test_tampered_artifact_is_refused_before_use(home):
    folder = home.artifacts / str(artifacts.current_version(home.artifacts))
    data = bytearray((folder / "vocab.npz").read_bytes())
    data[-100] ^= 1
    (folder / "vocab.npz").write_bytes(bytes(data))
    with pytest.raises(artifacts.ArtifactError, match=r"sha256.*recsys-tui train"):
        artifacts.load(home.artifacts)


def test_tampered_dataset_cache_is_refused_before_use(home):
    movies = cache_dir(home.data) / "movies.json"
    movies.write_text(movies.read_text().replace("Toy Story", "Toy Storm", 1))
    with pytest.raises(DataError, match=r"corrupt.*data fetch --force"):
        load_cache(home.data)


# -- secrets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    f"redis://:{PASSWORD}@127.0.0.1:6379/0", f"redis://app:{PASSWORD}@127.0.0.1:6379/0",
    f"rediss://app:{PASSWORD}@host:6380/0?ssl_ca_certs=/x/ca.pem",
    f"redis://127.0.0.1:6379/0?password={PASSWORD}", f"unix://:{PASSWORD}@/tmp/redis.sock?db=0",
])
def test_redact_hides_every_password_form(url):
    shown = redact(url)
    assert PASSWORD not in shown
    assert "***" in shown


@pytest.fixture
def password_server(tmp_path):
    if REDIS_BINARY is None:
        no_redis_binary()
    server = RedisServer(tmp_path / "pw", extra_args=["--requirepass", PASSWORD]).start()
    yield server
    server.stop()


@pytest.mark.redis
def test_password_urls_work_and_are_never_printed(home, password_server):
    good = f"redis://:{PASSWORD}@127.0.0.1:{password_server.port}/0"
    engine = Engine.open(home, good)
    assert engine.degraded is None
    assert engine.record(1, 50, "rating", 5).degraded is None
    assert PASSWORD not in repr(engine.status())
    engine.close()
    wrong = f"redis://:wrong-{PASSWORD}@127.0.0.1:{password_server.port}/0"
    engine = Engine.open(home, wrong)
    assert engine.degraded and PASSWORD not in engine.degraded
    engine.close()
    for url, args in ((good, ["status"]), (wrong, ["rate", "-u", "1", "-i", "51", "-r", "4"]),
                      (f"redis://127.0.0.1:{password_server.port}/0?password=x{PASSWORD}", ["status"]),
                      (f"http://:{PASSWORD}@127.0.0.1/0", ["status"])):
        _, stdout, stderr = check.run_cli(["--home", str(home.root), "--redis-url", url, *args])
        assert PASSWORD not in stdout + stderr, (args, stdout, stderr)
        assert "Traceback" not in stderr


# -- TLS -------------------------------------------------------------------------------------

def make_certs(folder: Path) -> Path:
    """A throw-away CA and a server certificate for 127.0.0.1, made with the openssl binary."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl binary not found")
    folder.mkdir(parents=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=recsys-tui test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return folder


@pytest.mark.redis
def test_rediss_tls_works_with_the_ca_and_degrades_cleanly_without(home, tmp_path):
    if REDIS_BINARY is None:
        no_redis_binary()
    certs = make_certs(tmp_path / "certs")
    port = free_port()
    server = RedisServer(tmp_path / "tls", port=port, extra_args=[
        "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(certs / "server.pem"),
        "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.pem"),
        "--tls-auth-clients", "no"]).start()
    try:
        url = f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={certs / 'ca.pem'}"
        engine = Engine.open(home, url)
        assert engine.degraded is None
        result = engine.record(2, 60, "rating", 4)
        assert result.degraded is None
        assert engine.store.user(2).counts["rating"] == 1
        assert isinstance(engine.store.client.connection_pool.get_connection(),
                          redis.connection.SSLConnection)
        engine.close()
        plain = Engine.open(home, f"redis://127.0.0.1:{port}/0")  # TLS port, plain client
        assert plain.degraded
        plain.close()
        untrusted = Engine.open(home, f"rediss://127.0.0.1:{port}/0")  # no CA: verification fails
        assert untrusted.degraded and "certificate" in untrusted.degraded.lower()
        untrusted.close()
    finally:
        server.stop()


# -- least privilege -----------------------------------------------------------------------------

@pytest.mark.redis
def test_acl_user_limited_to_the_prefix_and_the_store_commands(home, redis_server):
    admin = redis.Redis.from_url(redis_server.url)
    admin.execute_command("ACL", "SETUSER", "app", "on", f">{PASSWORD}", "resetkeys", "~rs:v1:*",
                          "resetchannels", "-@all", *(f"+{c}" for c in ACL_COMMANDS))
    url = f"redis://app:{PASSWORD}@127.0.0.1:{redis_server.port}/0"
    engine = Engine.open(home, url)
    assert engine.degraded is None
    for n in range(5):
        assert engine.record(1 + n, 70 + n, "rating", 1 + n).degraded is None
    assert engine.undo_last(3).degraded is None
    assert engine.recommend(1).degraded is None
    admin.flushdb()  # the store is emptied behind the engine's back: the catch-up must be allowed too
    assert engine.record(1, 90, "click").degraded is None
    assert check.store_matches_log(engine) == []
    app = engine.store.client
    for attempt in (lambda: app.set("other:key", "x"), lambda: app.get("session:1"),
                    lambda: app.flushall(), lambda: app.keys("*"), lambda: app.config_get("*")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            attempt()
    engine.close()
    # a user missing a command the store needs: degraded with a clear message, never a traceback
    admin.execute_command("ACL", "SETUSER", "app", "-zincrby")
    engine = Engine.open(home, url)
    result = engine.record(2, 91, "view")
    assert result.degraded and "zincrby" in result.degraded.lower()
    engine.close()


# -- ids, keys and SQL -----------------------------------------------------------------------------

HOSTILE = ["'; DROP TABLE events; --", "%", "%%' OR '1'='1", "\"", "\\", "\0", "rs:v1:{u:1}:meta",
           "*", "{u:1}", "Amélie ☃ 東京", "\u202e", "a" * 10_000, ""]


@pytest.mark.parametrize("store", ["fakeredis", "redis"])
def test_hostile_text_never_reaches_a_key_or_a_query(home, store, request):
    url = request.getfixturevalue("redis_server").url if store == "redis" else None
    engine = Engine.open(home, url)
    for text in HOSTILE:
        engine.search(text)
        engine.search(text, user_id=1)
        for bad in (text, 1.5, -1, 0, 2**31, 2**64, True, None, b"1", [1]):
            with pytest.raises(EngineError):
                engine.record(bad, 1, "rating", 3)
            with pytest.raises(EngineError):
                engine.record(1, bad, "click")
            with pytest.raises(EngineError):
                engine.recommend(bad)
        with pytest.raises(EngineError):
            engine.record(1, 1, text or "x", None)
    engine.record(1, 1, "rating", 3)
    engine.undo_last(1)
    engine.record(engine.new_user(), 2, "view")
    stray = [k for k in engine.store.all_keys() if not check.KEY_SCHEMA.match(k)]
    assert stray == []
    assert engine.log.count() == 3
    assert engine.log.integrity() == "ok"
    engine.close()


def test_keys_are_built_from_validated_ids_only():
    assert keys.user_key(42, "meta") == "rs:v1:{u:42}:meta"
    for bad in ("42", "1}:x", 0, -5, 2**31, 4.2, True, None):
        with pytest.raises(keys.InvalidId):
            keys.user_key(bad, "meta")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        keys.user_key(1, "../../x")


def test_sql_is_parameterised():
    """Any f-string SQL in the log interpolates only fixed fragments, never a value."""
    allowed = {"BUSY_TIMEOUT_MS", "' AND '.join(where)", "marks"}
    tree = ast.parse((ROOT / "core" / "event_log.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("execute", "_query", "executescript") and node.args:
            for part in ast.walk(node.args[0]):
                if isinstance(part, ast.FormattedValue):
                    found.append(ast.unparse(part.value))
    assert set(found) <= allowed, found


def test_feature_store_open_rejects_unknown_schemes_without_echoing_secrets():
    with pytest.raises(Exception) as info:
        FeatureStore.open(f"http://u:{PASSWORD}@x:1/0")
    assert PASSWORD not in str(info.value)
