CREATE TABLE webhook_deliveries_old (
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempt          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    response_status  INTEGER,
    delivered_at     TIMESTAMP,
    event_created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);
-- A running lease becomes the next attempt's time, as it was kept before.
INSERT INTO webhook_deliveries_old
    SELECT event_id, endpoint_id, status, attempt,
           CASE WHEN status = 'pending' AND leased_until > next_attempt_at
                THEN leased_until ELSE next_attempt_at END,
           response_status, delivered_at, event_created_at
    FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_old RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, event_id);
