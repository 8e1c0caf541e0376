DROP TABLE adjustments;
DROP TABLE transfers;
DROP TABLE holds;
DROP TABLE lots;
DROP TABLE balances;
DROP TABLE postings;
DROP TABLE journal_entries;
DROP TABLE ledger_head;
ALTER TABLE materials DROP COLUMN version;
