DROP TABLE idempotency_keys;
DROP TABLE audit_events;
DROP TABLE facilities;
DROP TABLE materials;
