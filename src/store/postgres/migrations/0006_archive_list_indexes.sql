-- Lists with include_archived=true read ml_jobs_archive with the same filters as ml_jobs,
-- one index range per filter in (created_at, id) order, as the live table does (0001).
-- On the partitioned table each month's partition gets its own copy, and a list merges
-- the partitions' ranges (Merge Append) without a sort.
CREATE INDEX ml_jobs_archive_status_created_idx ON ml_jobs_archive (status, created_at DESC, id DESC);
CREATE INDEX ml_jobs_archive_model_created_idx ON ml_jobs_archive (model, created_at DESC, id DESC);
CREATE INDEX ml_jobs_archive_owner_created_idx ON ml_jobs_archive (owner, created_at DESC, id DESC);
