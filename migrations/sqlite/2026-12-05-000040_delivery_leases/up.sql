-- As on PostgreSQL (see its migration): the lease in a column of its own, and the primary key
-- leading with the endpoint in place of a second index on the same columns. SQLite cannot
-- change a primary key: the table is rebuilt.
CREATE TABLE webhook_deliveries_new (
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts started; a worker claims a delivery by counting its attempt and leasing it
    -- (leased_until, past the attempt's timeout), then records the outcome.
    attempt          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    response_status  INTEGER,
    delivered_at     TIMESTAMP,
    -- The event's time: retries end a fixed time after it.
    event_created_at TIMESTAMP NOT NULL,
    leased_until     TIMESTAMP,
    PRIMARY KEY (endpoint_id, event_id)
);
INSERT INTO webhook_deliveries_new (event_id, endpoint_id, status, attempt, next_attempt_at,
                                    response_status, delivered_at, event_created_at)
    SELECT event_id, endpoint_id, status, attempt, next_attempt_at, response_status,
           delivered_at, event_created_at
    FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
