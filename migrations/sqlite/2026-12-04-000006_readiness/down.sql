DROP INDEX lots_by_origin;
DROP TABLE material_prices;
ALTER TABLE allocations DROP COLUMN monthly_consumption;
