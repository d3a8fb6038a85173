"""What the engine would run on, read without opening it (the ``status`` command).

Opening the engine loads the data set, the model, the vector index and (embedded) fakeredis with
its Lua runtime, then catches the store up from the log: most of a second of imports and work for
a few lines of text. ``probe`` reads the same facts from where they live: the current version's
manifest (every file's sha256 checked, as loading does), the data set's manifest, the log's event
count, and, for a Redis URL, the server itself (ping, eviction policy, ``problems``). It writes
nothing: a store left behind by the log is reported, not caught up. The embedded store is private
to each process and rebuilt from the log whenever an engine opens, so it has nothing to report.
"""

from __future__ import annotations

from recsys_tui.core import artifacts
from recsys_tui.core.home import Home
from recsys_tui.core.log_open import open_event_log
from recsys_tui.core.status_line import Status
from recsys_tui.data.cache_manifest import read_manifest, verify_files

EMBEDDED = ("fakeredis", "embedded (fakeredis)")
"""The embedded store's kind and shown URL (as ``FeatureStore`` names them)."""


def probe(home: Home, redis_url: str | None = None, log_url: str | None = None) -> Status:
    """The engine's ``status()`` for ``home`` without loading the model, the index or the data."""
    data = read_manifest(home.data, home.dataset)
    verify_files(home.data, data, home.dataset)
    version = artifacts.current_version(home.artifacts)
    if version is None:
        raise artifacts.ArtifactError(f"no trained model in {home.artifacts}; {artifacts.RECOVER}")
    folder = home.artifacts / version
    if not folder.is_dir():
        raise artifacts.ArtifactError(f"version {version} named by CURRENT is missing; {artifacts.RECOVER}")
    manifest = artifacts.verify(folder)
    label = str(data.get("name", home.dataset))
    log = open_event_log(home.event_log, log_url)
    try:
        kind, shown, degraded, problems = _store(redis_url, log.log_id)
        return Status(str(manifest.get("model", "?")), version, manifest.get("index") or None, kind, shown,
                      degraded, log.count(), str(home.root), tuple(problems),
                      f"{label} (synthetic)" if data.get("synthetic") else label, f"{log.kind} {log.path}")
    finally:
        log.close()


def _store(url: str | None, log_id: str) -> tuple[str, str, str | None, list[str]]:
    """(kind, shown URL, why degraded or None, problems) of the store at ``url``."""
    if not url:
        return (*EMBEDDED, None, [])
    from recsys_tui.core.feature_store import FeatureStore, StoreError

    store = FeatureStore.open(url)  # a malformed URL raises here (a usage error)
    store.log_id = log_id
    try:
        store.ping()
        return store.kind, store.url, None, store.problems()
    except StoreError as exc:
        return store.kind, store.url, str(exc), []
    finally:
        store.close()
