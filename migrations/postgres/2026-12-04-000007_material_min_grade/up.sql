-- A material's minimum grade (purity, percent, a normalized decimal): replenishments below it
-- are refused. NULL: no minimum.
ALTER TABLE materials ADD COLUMN min_grade TEXT;
