DROP TABLE balances_by_day;
ALTER TABLE journal_entries DROP COLUMN effective_date;
