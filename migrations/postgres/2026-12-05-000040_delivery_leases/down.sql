-- A running lease becomes the next attempt's time, as it was kept before.
UPDATE webhook_deliveries SET next_attempt_at = leased_until
    WHERE status = 'pending' AND leased_until > next_attempt_at;
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, event_id);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey;
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (event_id, endpoint_id);
ALTER TABLE webhook_deliveries RESET (fillfactor, autovacuum_vacuum_scale_factor,
                                      autovacuum_analyze_scale_factor);
ALTER TABLE webhook_deliveries DROP COLUMN leased_until;
