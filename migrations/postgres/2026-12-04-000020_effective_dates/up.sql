-- Effective dates (API.md part 2): the date each new entry's business event takes effect,
-- hashed with the entry. Entries written before this column existed keep NULL (they are
-- exported and hashed without it) and count on their recorded_at's date.
ALTER TABLE journal_entries ADD COLUMN effective_date DATE;

-- What makes balances on the effective basis an indexed read: per (account, asset, day) the
-- sum of the postings of the entries effective that day, kept in the same transaction as
-- each entry (like `balances`). A balance as of D is the sum of its rows with day <= D.
CREATE TABLE balances_by_day (
    account TEXT NOT NULL,
    asset   TEXT NOT NULL,
    day     DATE NOT NULL,
    amount  BIGINT NOT NULL,
    PRIMARY KEY (account, asset, day)
);

INSERT INTO balances_by_day (account, asset, day, amount)
SELECT p.account, p.asset, CAST(e.recorded_at AS DATE), CAST(SUM(p.amount) AS BIGINT)
  FROM postings p JOIN journal_entries e ON e.seq = p.entry_seq
 GROUP BY p.account, p.asset, CAST(e.recorded_at AS DATE);
