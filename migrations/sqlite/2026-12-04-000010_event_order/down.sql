DROP INDEX events_in_order;
DROP INDEX events_unsequenced;
DROP INDEX events_by_manufacturer;
DROP INDEX events_by_type;
DROP TABLE feed_head;
ALTER TABLE events DROP COLUMN position;
CREATE INDEX events_by_manufacturer ON events (manufacturer_id, id);
CREATE INDEX events_by_type ON events (type, id);
