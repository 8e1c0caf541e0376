-- Readiness (API.md part 2): each allocation's declared normal use per 30 days, in minor
-- units of the material; market price marks per material and date; and the index the
-- concentration report reads lots on hand by origin with.

ALTER TABLE allocations ADD COLUMN monthly_consumption BIGINT NOT NULL DEFAULT 0
    CHECK (monthly_consumption >= 0);

CREATE TABLE material_prices (
    material_code TEXT NOT NULL REFERENCES materials (code),
    as_of         DATE NOT NULL,
    -- USD per unit of the material, in micro-dollars.
    price_micros  BIGINT NOT NULL CHECK (price_micros > 0),
    source        TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (material_code, as_of)
);

CREATE INDEX lots_by_origin ON lots (material_code, origin_country, quantity_on_hand)
    WHERE quantity_on_hand > 0;
