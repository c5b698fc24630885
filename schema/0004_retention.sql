-- Retention (`esxmirror prune`, README "Retention"). A bundle superseded by a newer placed
-- bundle can be removed from the mirror; its row stays, so the next sync knows not to fetch it again.
--
--   placed -> pruning   the removal is decided and recorded first (one transaction for the whole run);
--                       the published index no longer lists it. A run killed from here on is finished
--                       by the next `esxmirror prune` (or a sync with prune_after_sync).
--   pruning -> pruned   its directory was renamed into staging, its links removed, then this row says
--                       so and its placements and file rows are deleted (one transaction).
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the two new states and
-- the columns that say why and when (the documented 12-step way; nothing references `bundles`).
CREATE TABLE bundles_new (
  patch_id      TEXT PRIMARY KEY REFERENCES patches(id) ON DELETE CASCADE,
  state         TEXT NOT NULL CHECK (state IN ('discovered', 'downloading', 'verified', 'placed', 'failed',
                                               'pruning', 'pruned')),
  failures      INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT,
  next_retry_at INTEGER,
  md5           TEXT,
  sha256        TEXT,
  size          INTEGER,
  verified_md5_expected TEXT,
  path          TEXT,
  placed_at     INTEGER,
  updated_at    INTEGER NOT NULL,
  layout        TEXT NOT NULL DEFAULT 'flat' CHECK (layout IN ('flat', 'nested')),
  pruned_at       INTEGER,                    -- when its removal was decided
  pruned_versions TEXT,                       -- space-separated: the versions a newer bundle covered then
  pruned_reason   TEXT                        -- "superseded by ESX-1002087 under 3.0.2 (placed ...)"
);
INSERT INTO bundles_new (patch_id, state, failures, last_error, next_retry_at, md5, sha256, size,
                         verified_md5_expected, path, placed_at, updated_at, layout)
  SELECT patch_id, state, failures, last_error, next_retry_at, md5, sha256, size, verified_md5_expected, path,
         placed_at, updated_at, layout FROM bundles;
DROP TABLE bundles;
ALTER TABLE bundles_new RENAME TO bundles;
CREATE INDEX bundles_by_state ON bundles(state);
