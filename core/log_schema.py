"""The event log's schema, created and versioned by ordered migrations (SQLite and PostgreSQL).

Each dialect has a list of steps; step ``n`` moves the schema from version ``n-1`` to ``n`` and is
recorded in the ``schema_version`` table inside the same transaction, so a crash never leaves a
half-migrated log. Opening a log runs the steps it lacks; a log newer than this code is refused.

Version 2 adds a unique index on ``undoes``: an event is undone at most once, so two concurrent
undos of the same event have exactly one winner (the other insert is rejected by the database).
"""

from __future__ import annotations

SQLITE_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS events (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id  INTEGER NOT NULL CHECK (user_id > 0),
        item_id  INTEGER NOT NULL CHECK (item_id > 0),
        kind     TEXT    NOT NULL CHECK (kind IN ('rating', 'click', 'view', 'undo')),
        rating   REAL    CHECK (rating IS NULL OR (rating >= 0.5 AND rating <= 5)),
        ts       INTEGER NOT NULL,
        undoes   INTEGER REFERENCES events(id)
    );
    CREATE INDEX IF NOT EXISTS events_user ON events (user_id, id);
    CREATE TABLE IF NOT EXISTS users (
        user_id    INTEGER PRIMARY KEY CHECK (user_id > 0),
        created_ts INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT OR IGNORE INTO meta VALUES ('schema', '1');
    """,
    "CREATE UNIQUE INDEX IF NOT EXISTS events_undone_once ON events (undoes) WHERE undoes IS NOT NULL;",
)

POSTGRES_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id  INTEGER NOT NULL CHECK (user_id > 0),
        item_id  INTEGER NOT NULL CHECK (item_id > 0),
        kind     TEXT    NOT NULL CHECK (kind IN ('rating', 'click', 'view', 'undo')),
        rating   DOUBLE PRECISION CHECK (rating IS NULL OR (rating >= 0.5 AND rating <= 5)),
        ts       BIGINT  NOT NULL,
        undoes   BIGINT  REFERENCES events(id)
    );
    CREATE INDEX events_user ON events (user_id, id);
    CREATE TABLE users (
        user_id    INTEGER PRIMARY KEY CHECK (user_id > 0),
        created_ts BIGINT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- One statement, one transaction per event. The per-user advisory lock is taken before the
    -- id is drawn and held until commit, so a user's ids commit in increasing order: a reader
    -- that saw id n of a user never later finds a smaller id of that user (the store's
    -- per-user idempotency key depends on it). ``prev_id`` (the user's previous event, 0 = none)
    -- is read after the lock, so it is exact (the feature store's gap check relies on it).
    CREATE FUNCTION recsys_append(p_user INTEGER, p_item INTEGER, p_kind TEXT,
                                  p_rating DOUBLE PRECISION, p_ts BIGINT, p_undoes BIGINT,
                                  OUT new_id BIGINT, OUT prev_id BIGINT)
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(16, p_user);
        SELECT COALESCE(MAX(id), 0) INTO prev_id FROM events WHERE user_id = p_user;
        INSERT INTO events (user_id, item_id, kind, rating, ts, undoes)
        VALUES (p_user, p_item, p_kind, p_rating, p_ts, p_undoes) RETURNING id INTO new_id;
    END $$;
    """,
    """
    CREATE UNIQUE INDEX events_undone_once ON events (undoes) WHERE undoes IS NOT NULL;
    -- Undo the user's newest live event if it is still ``p_expected``: returns the marker's id
    -- and the user's previous event id, or NULLs when another process undid it (or logged a newer
    -- event) first: of concurrent undos exactly one wins.
    CREATE FUNCTION recsys_undo_last(p_user INTEGER, p_expected BIGINT, p_ts BIGINT,
                                     OUT new_id BIGINT, OUT prev_id BIGINT)
    LANGUAGE plpgsql AS $$
    DECLARE newest BIGINT; target_item INTEGER;
    BEGIN
        PERFORM pg_advisory_xact_lock(16, p_user);
        SELECT e.id, e.item_id INTO newest, target_item FROM events e
         WHERE e.user_id = p_user AND e.kind <> 'undo'
           AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id)
         ORDER BY e.id DESC LIMIT 1;
        IF newest IS NULL OR newest <> p_expected THEN
            RETURN;
        END IF;
        SELECT COALESCE(MAX(id), 0) INTO prev_id FROM events WHERE user_id = p_user;
        INSERT INTO events (user_id, item_id, kind, rating, ts, undoes)
        VALUES (p_user, target_item, 'undo', NULL, p_ts, p_expected) RETURNING id INTO new_id;
    END $$;
    """,
)

SCHEMA_VERSION = len(SQLITE_STEPS)
assert len(POSTGRES_STEPS) == SCHEMA_VERSION, "both dialects carry the same schema versions"

VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version "
                 "(version INTEGER NOT NULL, applied_ts BIGINT NOT NULL)")


def too_new(found: int, where: str) -> str:
    return (f"event log {where} has schema version {found}, newer than this recsys-tui "
            f"({SCHEMA_VERSION}); upgrade recsys-tui")
