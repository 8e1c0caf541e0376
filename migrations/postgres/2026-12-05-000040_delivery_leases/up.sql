-- A delivery is written once by its event's transaction and then changed twice, by the worker
-- that claims it (the lease) and by the one that records the attempt: on the busiest paths, so
-- each change should touch as few indexes as it can.
-- * The lease moves to a column of its own that no index holds, and pages keep room (pages
--   written from now on): a claim can then be a heap-only (HOT) update, which writes no index
--   entry, where its page has room. A delivery is due when next_attempt_at has passed and no
--   lease runs (leased_until empty or past).
-- * The primary key leads with the endpoint, which serves the delivery log (an endpoint's
--   deliveries in event order) and the worker's updates (an endpoint's claimed events), so the
--   second index on the same two columns goes.
-- * A queue table: every delivery leaves a dead version in the due index when it is recorded.
--   Vacuum and analyze it after 1 % of its rows change, not the default 20 % / 10 %, so that
--   the planner keeps the ordered scan of the due index (which also marks dead entries as it
--   passes them) rather than a bitmap scan that visits every dead entry's row on each claim.
-- Workers of the previous version do not know leased_until: stop them before this runs.
ALTER TABLE webhook_deliveries ADD COLUMN leased_until TIMESTAMP;
ALTER TABLE webhook_deliveries SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01,
                                    autovacuum_analyze_scale_factor = 0.01);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey;
ALTER TABLE webhook_deliveries ADD PRIMARY KEY (endpoint_id, event_id);
DROP INDEX webhook_deliveries_by_endpoint;
