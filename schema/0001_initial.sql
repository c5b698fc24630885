-- What esxmirror knows between runs. Times are unix seconds (UTC).

-- Every page fetched, with its HTTP validators (for conditional GET) and what it yielded, so a page
-- that answers 304 needs no parsing: `extracted` is JSON (index: its links; detail: its patch record).
CREATE TABLE pages (
  url          TEXT PRIMARY KEY,
  etag         TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  checked_at   INTEGER NOT NULL,
  changed_at   INTEGER NOT NULL,
  extracted    TEXT NOT NULL
);

-- Patches as their pages describe them.
CREATE TABLE patches (
  id             TEXT PRIMARY KEY,
  page_url       TEXT NOT NULL,
  release_date   TEXT,
  classification TEXT NOT NULL DEFAULT '',
  supersedes     TEXT NOT NULL DEFAULT '',
  download_url   TEXT NOT NULL DEFAULT '',
  filename       TEXT NOT NULL DEFAULT '',
  md5_expected   TEXT,
  first_seen     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL
);

CREATE TABLE patch_versions (
  patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  version  TEXT NOT NULL,
  PRIMARY KEY (patch_id, version)
);
CREATE INDEX patch_versions_by_version ON patch_versions(version);

-- Where each bundle is in its life: discovered -> downloading -> verified -> placed, or failed.
CREATE TABLE bundles (
  patch_id      TEXT PRIMARY KEY REFERENCES patches(id) ON DELETE CASCADE,
  state         TEXT NOT NULL CHECK (state IN ('discovered', 'downloading', 'verified', 'placed', 'failed')),
  failures      INTEGER NOT NULL DEFAULT 0,   -- consecutive failed attempts (drives the backoff)
  last_error    TEXT,
  next_retry_at INTEGER,                      -- a failed bundle is not tried before this
  md5           TEXT,                         -- of the archive as downloaded and verified
  sha256        TEXT,
  size          INTEGER,
  verified_md5_expected TEXT,                 -- the page's md5 the placed copy was checked against
  path          TEXT,                         -- primary copy, relative to dest: "3.0.1/2007-03-29_ESX-1000039"
  placed_at     INTEGER,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX bundles_by_state ON bundles(state);

-- One row per selected version a placed bundle appears under: the primary directory or a link to it.
CREATE TABLE placements (
  patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  version  TEXT NOT NULL,
  path     TEXT NOT NULL,                     -- relative to dest
  is_link  INTEGER NOT NULL,
  PRIMARY KEY (patch_id, version)
);

-- Every regular file of a placed bundle with its hash, so `verify` can re-check the mirror.
CREATE TABLE bundle_files (
  patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
  relpath  TEXT NOT NULL,                     -- relative to the bundle directory
  size     INTEGER NOT NULL,
  sha256   TEXT NOT NULL,
  PRIMARY KEY (patch_id, relpath)
);

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  outcome     TEXT NOT NULL DEFAULT 'running', -- running, ok, partial, failed, interrupted
  exit_code   INTEGER,
  placed      INTEGER NOT NULL DEFAULT 0,
  skipped     INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  message     TEXT NOT NULL DEFAULT ''
);
