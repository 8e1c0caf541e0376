-- Notifications: the outbox of events (written in the transaction of the change each
-- reports), the webhook endpoints subscribed to them, and one delivery per event and
-- endpoint. Ids are v7 UUIDs, so an id order is a time order.

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    -- The manufacturer a drawdown or obligation event belongs to; NULL for disruptions.
    manufacturer_id TEXT,
    -- The object as its GET returned it when the event was written (JSON).
    data            TEXT NOT NULL
);
CREATE INDEX events_by_manufacturer ON events (manufacturer_id, id);
CREATE INDEX events_by_type ON events (type, id);

-- The materials a disruption event concerns: manufacturers with an allocation of one see it.
CREATE TABLE event_materials (
    event_id      TEXT NOT NULL REFERENCES events (id),
    material_code TEXT NOT NULL,
    PRIMARY KEY (event_id, material_code)
);
CREATE INDEX event_materials_by_material ON event_materials (material_code, event_id);

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    -- The manufacturer that registered it (it receives only what it may see); NULL: staff.
    manufacturer_id TEXT,
    created_by      TEXT NOT NULL,
    url             TEXT NOT NULL,
    -- The subscribed types, comma-separated, or '*'.
    events          TEXT NOT NULL,
    description     TEXT,
    status          TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    -- Kept out of every view but the answers of registration and rotation.
    secret          TEXT NOT NULL,
    -- After a rotation the old secret signs too, until previous_secret_until.
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_by_manufacturer ON webhook_endpoints (manufacturer_id, id);

CREATE TABLE webhook_deliveries (
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts started; a worker claims a delivery by counting its attempt and moving
    -- next_attempt_at past the attempt's timeout (a lease), then records the outcome.
    attempt          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    response_status  INTEGER,
    delivered_at     TIMESTAMP,
    -- The event's time: retries end a fixed time after it.
    event_created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, event_id);

-- The due date whose passing was announced (`obligation.overdue`): once per due date.
ALTER TABLE obligations ADD COLUMN overdue_announced_for DATE;
