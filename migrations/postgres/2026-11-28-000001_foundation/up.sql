-- Reference data, audit trail and idempotency records.
-- Quantities are BIGINT minor units of 10^-scale of the material's unit.

CREATE TABLE materials (
    id              TEXT PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL UNIQUE,
    unit            TEXT NOT NULL CHECK (unit IN ('kg', 't', 'mtu')),
    scale           INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 6),
    strategic_floor BIGINT NOT NULL CHECK (strategic_floor >= 0),
    -- Cached from the ledger in the same transaction as every movement; the last line of
    -- defence for "never negative, holds never above stock" is here.
    on_hand         BIGINT NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    held            BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0 AND held <= on_hand),
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE facilities (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    country    TEXT NOT NULL CHECK (length(country) = 2),
    created_at TIMESTAMP NOT NULL
);

-- Every write, accepted or refused. Ids are UUIDv7, so they sort by time.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    actor_sub  TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    outcome    TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor_sub, id);
CREATE INDEX audit_events_action ON audit_events (action, id);

-- Responses of accepted writes, replayed for a retry with the same key and body. Keys
-- belong to a caller: role, organisation and subject together.
CREATE TABLE idempotency_keys (
    caller        TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (caller, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
