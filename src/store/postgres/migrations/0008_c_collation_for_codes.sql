-- status, model and owner are codes compared for equality, never sorted for people, yet
-- under the database's default collation (e.g. C.UTF-8 or en_US) every comparison in an
-- index build or lookup goes through strcoll: building ml_jobs_status/model/owner_created_idx
-- over 10M rows took 20-40 s each. COLLATE "C" makes them memcmp comparisons. The archive
-- gets the same collation so that UNION ALL of the two tables has one collation per column.
-- Changing only the collation rewrites no table; the indexes on these columns are rebuilt.
ALTER TABLE ml_jobs
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN model TYPE text COLLATE "C",
  ALTER COLUMN owner TYPE text COLLATE "C";
ALTER TABLE ml_jobs_archive
  ALTER COLUMN status TYPE text COLLATE "C",
  ALTER COLUMN model TYPE text COLLATE "C",
  ALTER COLUMN owner TYPE text COLLATE "C";
