-- Entitlement moved from one manufacturer to another (API.md, "Entitlements over time"):
-- the allocations change in the same transaction, and each side's history keeps its change.
CREATE TABLE allocation_transfers (
    id                       TEXT PRIMARY KEY,
    from_manufacturer_id     TEXT NOT NULL REFERENCES manufacturers (id),
    to_manufacturer_id       TEXT NOT NULL REFERENCES manufacturers (id),
    material_code            TEXT NOT NULL REFERENCES materials (code),
    quantity                 BIGINT NOT NULL CHECK (quantity > 0),
    -- What the recipient pays the sender, recorded with the transfer (not the reserve's cash).
    price_cents              BIGINT NOT NULL CHECK (price_cents >= 0),
    -- The sender's locked price, which the transferred entitlement carries.
    locked_price_micros      BIGINT NOT NULL CHECK (locked_price_micros >= 0),
    -- The recipient's locked price after the transfer (the quantity-weighted average).
    recipient_price_micros   BIGINT NOT NULL CHECK (recipient_price_micros >= 0),
    actor                    TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    CHECK (from_manufacturer_id <> to_manufacturer_id)
);
CREATE INDEX allocation_transfers_from ON allocation_transfers (from_manufacturer_id, id);
CREATE INDEX allocation_transfers_to ON allocation_transfers (to_manufacturer_id, id);
