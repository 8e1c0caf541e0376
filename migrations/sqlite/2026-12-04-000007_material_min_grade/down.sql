ALTER TABLE materials DROP COLUMN min_grade;
