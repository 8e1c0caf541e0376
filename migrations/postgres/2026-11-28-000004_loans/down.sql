DROP TABLE fees;
DROP TABLE interest_accruals;
DROP TABLE repayment_allocations;
DROP TABLE repayments;
DROP TABLE disbursements;
DROP TABLE tranches;
DROP TABLE loan_facilities;
