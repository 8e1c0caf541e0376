-- Loan facilities that pay for the stockpile, their tranches, the money drawn and repaid,
-- the interest posted, and manufacturers' fees. Money is BIGINT cents, annual rates BIGINT
-- units of 10^-9 (0.0475 = 47500000), dates DATE. Each movement is also a journal entry
-- (entry_seq); these tables say what it was for.

CREATE TABLE loan_facilities (
    id                TEXT PRIMARY KEY,
    lender            TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('direct_loan', 'private_capital')),
    commitment_cents  BIGINT NOT NULL CHECK (commitment_cents > 0),
    annual_rate_nanos BIGINT NOT NULL CHECK (annual_rate_nanos BETWEEN 0 AND 1000000000),
    day_count         TEXT NOT NULL CHECK (day_count IN ('ACT/360', 'ACT/365F', '30/360')),
    availability_end  DATE NOT NULL,
    maturity_date     DATE NOT NULL,
    -- The sum of the tranches' amounts, raised by a conditional update that keeps it within
    -- the commitment.
    tranched_cents    BIGINT NOT NULL DEFAULT 0
                      CHECK (tranched_cents >= 0 AND tranched_cents <= commitment_cents),
    -- Interest has been posted for the days before this date; no movement may be dated
    -- earlier, so what was posted never needs restating.
    accrued_through   DATE,
    -- Cumulative interest posted (the rounded interest to accrued_through) and paid.
    interest_posted_cents BIGINT NOT NULL DEFAULT 0,
    interest_paid_cents   BIGINT NOT NULL DEFAULT 0
                      CHECK (interest_paid_cents >= 0 AND interest_paid_cents <= interest_posted_cents),
    -- Bumped first by every movement of the facility: that row lock serializes them.
    version           BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMP NOT NULL,
    CHECK (availability_end <= maturity_date)
);

CREATE TABLE tranches (
    id             TEXT PRIMARY KEY,
    facility_id    TEXT NOT NULL REFERENCES loan_facilities (id),
    amount_cents   BIGINT NOT NULL CHECK (amount_cents > 0),
    available_from DATE NOT NULL,
    purpose        TEXT NOT NULL,
    -- Every disbursement recorded, whatever its value date.
    drawn_cents    BIGINT NOT NULL DEFAULT 0
                   CHECK (drawn_cents >= 0 AND drawn_cents <= amount_cents),
    created_at     TIMESTAMP NOT NULL
);
-- Oldest first (repayments): by available_from, then creation order.
CREATE INDEX tranches_facility ON tranches (facility_id, available_from, id);

CREATE TABLE disbursements (
    id           TEXT PRIMARY KEY,
    tranche_id   TEXT NOT NULL REFERENCES tranches (id),
    facility_id  TEXT NOT NULL REFERENCES loan_facilities (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    value_date   DATE NOT NULL,
    -- What the money paid for, e.g. the lot it bought.
    reference    TEXT,
    entry_seq    BIGINT NOT NULL REFERENCES journal_entries (seq),
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX disbursements_facility ON disbursements (facility_id, value_date);
CREATE INDEX disbursements_tranche ON disbursements (tranche_id, value_date);

CREATE TABLE repayments (
    id              TEXT PRIMARY KEY,
    facility_id     TEXT NOT NULL REFERENCES loan_facilities (id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    value_date      DATE NOT NULL,
    interest_cents  BIGINT NOT NULL CHECK (interest_cents >= 0),
    principal_cents BIGINT NOT NULL CHECK (principal_cents >= 0),
    entry_seq       BIGINT NOT NULL REFERENCES journal_entries (seq),
    created_at      TIMESTAMP NOT NULL,
    CHECK (interest_cents + principal_cents = amount_cents)
);
CREATE INDEX repayments_facility ON repayments (facility_id, value_date);

-- The principal of a repayment, per tranche it repaid.
CREATE TABLE repayment_allocations (
    repayment_id    TEXT NOT NULL REFERENCES repayments (id),
    tranche_id      TEXT NOT NULL REFERENCES tranches (id),
    principal_cents BIGINT NOT NULL CHECK (principal_cents > 0),
    PRIMARY KEY (repayment_id, tranche_id)
);
CREATE INDEX repayment_allocations_tranche ON repayment_allocations (tranche_id);

-- Each accrual that moved accrued_through forward; entry_seq is empty when it posted nothing.
CREATE TABLE interest_accruals (
    id               TEXT PRIMARY KEY,
    facility_id      TEXT NOT NULL REFERENCES loan_facilities (id),
    accrued_through  DATE NOT NULL,
    interest_cents   BIGINT NOT NULL,
    cumulative_cents BIGINT NOT NULL,
    entry_seq        BIGINT REFERENCES journal_entries (seq),
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (facility_id, accrued_through)
);

CREATE TABLE fees (
    id              TEXT PRIMARY KEY,
    manufacturer_id TEXT NOT NULL REFERENCES manufacturers (id),
    kind            TEXT NOT NULL CHECK (kind IN ('entry', 'carrying')),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    memo            TEXT,
    entry_seq       BIGINT NOT NULL REFERENCES journal_entries (seq),
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX fees_manufacturer ON fees (manufacturer_id, id);
