DROP TABLE allocation_transfers;
