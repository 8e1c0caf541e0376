-- Manufacturers and their entitlements, declared disruptions, drawdown requests and the
-- obligations to replenish what was released. The per-row figures (held, outstanding,
-- released) are caches kept in the transaction of every change, so that the release rules
-- are enforced by conditional updates of these rows.

CREATE TABLE manufacturers (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    priority_tier TEXT NOT NULL CHECK (priority_tier IN ('defense', 'critical', 'commercial')),
    status        TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE allocations (
    manufacturer_id     TEXT NOT NULL REFERENCES manufacturers (id),
    material_code       TEXT NOT NULL REFERENCES materials (code),
    quantity            BIGINT NOT NULL CHECK (quantity >= 0),
    locked_price_micros BIGINT NOT NULL CHECK (locked_price_micros >= 0),
    -- Released and not yet replenished (base quantity, premium excluded).
    outstanding         BIGINT NOT NULL DEFAULT 0 CHECK (outstanding >= 0),
    -- Held by this manufacturer's pending drawdowns of the material.
    held                BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    updated_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (manufacturer_id, material_code)
);

CREATE TABLE disruptions (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('limited', 'severe', 'critical')),
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('proposed', 'active', 'ended')),
    proposed_by  TEXT NOT NULL,
    confirmed_by TEXT,
    ended_by     TEXT,
    created_at   TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    ended_at     TIMESTAMP
);
CREATE INDEX disruptions_status ON disruptions (status, created_at);

CREATE TABLE disruption_materials (
    disruption_id          TEXT NOT NULL REFERENCES disruptions (id),
    material_code          TEXT NOT NULL REFERENCES materials (code),
    -- True while the disruption is active. Submissions hold against this row only while it
    -- is true, and ending the disruption clears it first: the row lock orders the two.
    open                   BOOLEAN NOT NULL DEFAULT FALSE,
    -- Stock on hand when the disruption became active: the base of the limited cap.
    on_hand_at_activation  BIGINT,
    -- Released and held under this disruption (for the limited cap).
    released               BIGINT NOT NULL DEFAULT 0 CHECK (released >= 0),
    held                   BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    PRIMARY KEY (disruption_id, material_code)
);
CREATE INDEX disruption_materials_material ON disruption_materials (material_code);

CREATE TABLE drawdowns (
    id                 TEXT PRIMARY KEY,
    manufacturer_id    TEXT NOT NULL REFERENCES manufacturers (id),
    material_code      TEXT NOT NULL REFERENCES materials (code),
    disruption_id      TEXT NOT NULL REFERENCES disruptions (id),
    -- The quantity asked for, and the quantity standing after approvals lowered it.
    quantity_requested BIGINT NOT NULL CHECK (quantity_requested > 0),
    quantity           BIGINT NOT NULL CHECK (quantity > 0),
    status             TEXT NOT NULL CHECK (status IN ('pending_approval', 'partially_approved',
                           'released', 'rejected', 'cancelled', 'expired')),
    required_approvals INTEGER NOT NULL CHECK (required_approvals IN (1, 2)),
    hold_id            TEXT NOT NULL REFERENCES holds (id),
    justification      TEXT NOT NULL,
    needed_by          DATE,
    -- The policy values the request was decided under (JSON).
    policy             TEXT NOT NULL,
    reject_reason      TEXT,
    obligation_id      TEXT,
    created_at         TIMESTAMP NOT NULL,
    closed_at          TIMESTAMP,
    version            BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX drawdowns_manufacturer ON drawdowns (manufacturer_id, id);
CREATE INDEX drawdowns_status ON drawdowns (status, id);
CREATE INDEX drawdowns_disruption ON drawdowns (disruption_id, status);

-- One row per operator: the primary key refuses a second approval by the same operator.
CREATE TABLE drawdown_approvals (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns (id),
    operator    TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    at          TIMESTAMP NOT NULL,
    PRIMARY KEY (drawdown_id, operator)
);

CREATE TABLE release_picks (
    drawdown_id TEXT NOT NULL REFERENCES drawdowns (id),
    idx         INTEGER NOT NULL,
    lot_id      TEXT NOT NULL REFERENCES lots (id),
    facility    TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (drawdown_id, idx)
);

CREATE TABLE obligations (
    id                TEXT PRIMARY KEY,
    drawdown_id       TEXT NOT NULL UNIQUE REFERENCES drawdowns (id),
    manufacturer_id   TEXT NOT NULL REFERENCES manufacturers (id),
    material_code     TEXT NOT NULL REFERENCES materials (code),
    base_quantity     BIGINT NOT NULL CHECK (base_quantity > 0),
    quantity_due      BIGINT NOT NULL CHECK (quantity_due >= base_quantity),
    quantity_returned BIGINT NOT NULL DEFAULT 0 CHECK (quantity_returned >= 0 AND quantity_returned <= quantity_due),
    -- Base quantity already credited back to the allocation's outstanding.
    base_returned     BIGINT NOT NULL DEFAULT 0 CHECK (base_returned >= 0 AND base_returned <= base_quantity),
    due_date          DATE NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'settled')),
    created_at        TIMESTAMP NOT NULL,
    settled_at        TIMESTAMP
);
CREATE INDEX obligations_manufacturer ON obligations (manufacturer_id, status, due_date);

CREATE TABLE replenishments (
    id            TEXT PRIMARY KEY,
    obligation_id TEXT NOT NULL REFERENCES obligations (id),
    lot_id        TEXT NOT NULL REFERENCES lots (id),
    quantity      BIGINT NOT NULL CHECK (quantity > 0),
    base_share    BIGINT NOT NULL CHECK (base_share >= 0),
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE obligation_reschedules (
    id            TEXT PRIMARY KEY,
    obligation_id TEXT NOT NULL REFERENCES obligations (id),
    old_due_date  DATE NOT NULL,
    new_due_date  DATE NOT NULL,
    reason        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
