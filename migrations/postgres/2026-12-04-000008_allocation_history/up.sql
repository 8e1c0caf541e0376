-- Every change of an allocation, as it was made (API.md, "Entitlements over time"): the
-- current allocation is the latest row's values, kept in `allocations` in the same transaction.
CREATE TABLE allocation_history (
    id                  TEXT PRIMARY KEY,
    manufacturer_id     TEXT NOT NULL,
    material_code       TEXT NOT NULL,
    at                  TIMESTAMP NOT NULL,
    actor               TEXT NOT NULL,
    quantity            BIGINT NOT NULL CHECK (quantity >= 0),
    locked_price_micros BIGINT NOT NULL CHECK (locked_price_micros >= 0),
    monthly_consumption BIGINT NOT NULL CHECK (monthly_consumption >= 0),
    -- From when the change counts for carrying fees (today, or later once fees are accrued).
    effective_date      DATE NOT NULL,
    FOREIGN KEY (manufacturer_id, material_code) REFERENCES allocations (manufacturer_id, material_code)
);
CREATE INDEX allocation_history_by_allocation
    ON allocation_history (manufacturer_id, material_code, id);
