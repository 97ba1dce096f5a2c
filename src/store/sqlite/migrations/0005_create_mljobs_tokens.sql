-- API tokens: only a SHA-256 hash of each token is kept (the token itself is shown once,
-- when created). A revoked token keeps its row, so `token list` shows when it was revoked.
CREATE TABLE mljobs_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'worker', 'user')),
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
