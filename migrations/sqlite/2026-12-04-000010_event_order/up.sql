-- The feed serves events in the order they became visible, which is not the order of their
-- ids (taken before commit: a transaction that began first can commit last). An event gets
-- its `position` only once committed, from the sequencer (`db::events::sequence`), which
-- numbers the committed events not yet numbered, in id order, one sequencer at a time (the
-- `feed_head` row is its lock). A position is never given below one already given, so a
-- poller's cursor never steps past an event that commits late.
ALTER TABLE events ADD COLUMN position BIGINT;
UPDATE events SET position = s.rn
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM events) AS s
    WHERE events.id = s.id;
CREATE TABLE feed_head (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    sequenced_at  TIMESTAMP
);
INSERT INTO feed_head (id) VALUES (1);
DROP INDEX events_by_manufacturer;
DROP INDEX events_by_type;
CREATE UNIQUE INDEX events_in_order ON events (position);
CREATE INDEX events_unsequenced ON events (id) WHERE position IS NULL;
CREATE INDEX events_by_manufacturer ON events (manufacturer_id, position);
CREATE INDEX events_by_type ON events (type, position);
