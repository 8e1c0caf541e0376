DELETE FROM allocation_history WHERE actor = 'migration';
DROP TABLE fee_payments;
DROP TABLE allocation_fees;
DROP TABLE fee_accruals;
DROP TABLE fee_accrual_runs;
DROP TABLE fee_accrual_state;
