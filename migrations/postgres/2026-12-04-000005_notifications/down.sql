ALTER TABLE obligations DROP COLUMN overdue_announced_for;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE event_materials;
DROP TABLE events;
