-- Carrying fees, receivables and payments (API.md, "Carrying fees, receivables and
-- statements"). Money is BIGINT cents; the journal holds `receivable:fees:<M>`.

-- The date carrying fees are accrued through (the days before it; NULL before the first
-- accrual), one row. An accrual takes its lock first; an allocation change reads it (sharing
-- the lock on PostgreSQL) to take effect from the later of today and that date.
CREATE TABLE fee_accrual_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    accrued_through DATE
);
INSERT INTO fee_accrual_state (id, accrued_through) VALUES (1, NULL);

-- Each accrual that moved the fees on: it covered the days before `through` not covered
-- before, at the rate in force then (units of 10^-9 a year), and posted `fees_cents`.
CREATE TABLE fee_accrual_runs (
    through    DATE PRIMARY KEY,
    rate_nanos BIGINT NOT NULL CHECK (rate_nanos BETWEEN 0 AND 1000000000),
    fees_cents BIGINT NOT NULL CHECK (fees_cents >= 0),
    created_at TIMESTAMP NOT NULL
);

-- What a run posted for one manufacturer: one journal entry (none for nothing).
CREATE TABLE fee_accruals (
    id              TEXT PRIMARY KEY,
    through         DATE NOT NULL REFERENCES fee_accrual_runs (through),
    manufacturer_id TEXT NOT NULL REFERENCES manufacturers (id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    entry_seq       BIGINT NOT NULL REFERENCES journal_entries (seq),
    UNIQUE (manufacturer_id, through)
);

-- Per allocation, the carrying fees posted so far: its cumulative fee to accrued_through,
-- rounded, which the next accrual differences against.
CREATE TABLE allocation_fees (
    manufacturer_id TEXT NOT NULL,
    material_code   TEXT NOT NULL,
    posted_cents    BIGINT NOT NULL CHECK (posted_cents >= 0),
    PRIMARY KEY (manufacturer_id, material_code),
    FOREIGN KEY (manufacturer_id, material_code) REFERENCES allocations (manufacturer_id, material_code)
);

-- Payments of carrying fees: cash in against the manufacturer's receivable.
CREATE TABLE fee_payments (
    id              TEXT PRIMARY KEY,
    manufacturer_id TEXT NOT NULL REFERENCES manufacturers (id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    value_date      DATE NOT NULL,
    memo            TEXT,
    entry_seq       BIGINT NOT NULL REFERENCES journal_entries (seq),
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX fee_payments_manufacturer ON fee_payments (manufacturer_id, value_date);

-- The fees read an allocation's terms from its history: an allocation set before the history
-- existed gets one change, its terms from the date it was last set, ordered before any later
-- change (a time-ordered id of time zero).
INSERT INTO allocation_history (id, manufacturer_id, material_code, at, actor, quantity,
                                locked_price_micros, monthly_consumption, effective_date)
SELECT '00000000-0000-7000-8000-' || substr(md5(a.manufacturer_id || '/' || a.material_code), 1, 12),
       a.manufacturer_id, a.material_code, a.updated_at, 'migration', a.quantity,
       a.locked_price_micros, a.monthly_consumption, CAST(a.updated_at AS DATE)
  FROM allocations a
 WHERE NOT EXISTS (SELECT 1 FROM allocation_history h
                    WHERE h.manufacturer_id = a.manufacturer_id
                      AND h.material_code = a.material_code);
