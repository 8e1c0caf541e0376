-- The books: a hash-chained journal of entries whose postings sum to zero per asset, the
-- balances they add up to, and the stock records (lots, holds, transfers, adjustments).
-- Amounts are BIGINT minor units: 10^-scale of the material for a material asset, cents for USD.

-- Every movement of material X first bumps its version: that row lock serializes the
-- movements of one material on PostgreSQL, so lot reads after it see committed stock.
ALTER TABLE materials ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- The head of the hash chain: the one row every append updates, last in its transaction.
-- recorded_at of the last entry: entries never go back in time, whatever the clocks of
-- several service processes say.
CREATE TABLE ledger_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    recorded_at TIMESTAMP
);
INSERT INTO ledger_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE journal_entries (
    seq         BIGINT PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    reference   TEXT,
    recorded_at TIMESTAMP NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX journal_entries_recorded ON journal_entries (recorded_at, seq);
CREATE INDEX journal_entries_reference ON journal_entries (reference);

CREATE TABLE postings (
    entry_seq BIGINT NOT NULL REFERENCES journal_entries (seq),
    idx       INTEGER NOT NULL,
    account   TEXT NOT NULL,
    asset     TEXT NOT NULL,
    amount    BIGINT NOT NULL,
    PRIMARY KEY (entry_seq, idx)
);
CREATE INDEX postings_account ON postings (account, asset);

-- A cache of the postings, kept in the same transaction as each entry.
CREATE TABLE balances (
    account TEXT NOT NULL,
    asset   TEXT NOT NULL,
    balance BIGINT NOT NULL,
    PRIMARY KEY (account, asset)
);

CREATE TABLE lots (
    id                TEXT PRIMARY KEY,
    material_code     TEXT NOT NULL REFERENCES materials (code),
    facility_code     TEXT NOT NULL REFERENCES facilities (code),
    quantity_received BIGINT NOT NULL CHECK (quantity_received > 0),
    quantity_on_hand  BIGINT NOT NULL CHECK (quantity_on_hand >= 0),
    grade             TEXT NOT NULL,
    origin_country    TEXT NOT NULL,
    supplier          TEXT NOT NULL,
    unit_cost_micros  BIGINT NOT NULL CHECK (unit_cost_micros >= 0),
    received_at       TIMESTAMP NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    -- A lot split off by a transfer names the lot it came from.
    source_lot_id     TEXT REFERENCES lots (id),
    tranche_id        TEXT,
    entry_seq         BIGINT NOT NULL REFERENCES journal_entries (seq)
);
-- Oldest first: by received_at, then creation order.
CREATE INDEX lots_pick ON lots (material_code, facility_code, received_at, created_at, id)
    WHERE quantity_on_hand > 0;
CREATE INDEX lots_pick_any ON lots (material_code, received_at, created_at, id)
    WHERE quantity_on_hand > 0;

-- Reservations of stock (two-phase, like pending transfers): pending, then posted or voided.
CREATE TABLE holds (
    id              TEXT PRIMARY KEY,
    material_code   TEXT NOT NULL REFERENCES materials (code),
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'posted', 'voided')),
    reference       TEXT,
    created_at      TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP,
    posted_quantity BIGINT CHECK (posted_quantity >= 0)
);
CREATE INDEX holds_material ON holds (material_code, status);

CREATE TABLE transfers (
    id            TEXT PRIMARY KEY,
    material_code TEXT NOT NULL REFERENCES materials (code),
    from_facility TEXT NOT NULL REFERENCES facilities (code),
    to_facility   TEXT NOT NULL REFERENCES facilities (code),
    quantity      BIGINT NOT NULL CHECK (quantity > 0),
    entry_seq     BIGINT NOT NULL REFERENCES journal_entries (seq),
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE adjustments (
    id            TEXT PRIMARY KEY,
    material_code TEXT NOT NULL REFERENCES materials (code),
    facility_code TEXT NOT NULL REFERENCES facilities (code),
    quantity      BIGINT NOT NULL CHECK (quantity <> 0),
    reason        TEXT NOT NULL,
    entry_seq     BIGINT NOT NULL REFERENCES journal_entries (seq),
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- Entries and postings are append-only: a correction is a new entry.
CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
