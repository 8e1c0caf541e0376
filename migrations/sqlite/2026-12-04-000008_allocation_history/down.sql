DROP TABLE allocation_history;
