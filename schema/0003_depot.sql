-- The online depot (issue 8). A depot source is mirrored under <dest>/<name>/, every file at its path
-- relative to the depot index's directory (`relpath` below). URLs are stored with their secrets as
-- placeholders ({token}); the secret itself is never stored.

-- Every source a sync has read, and what kind it turned out to be (a 304 on its index needs it).
CREATE TABLE sources (
  url        TEXT PRIMARY KEY,            -- as configured, secrets as placeholders
  kind       TEXT NOT NULL CHECK (kind IN ('legacy-html', 'depot')),
  name       TEXT NOT NULL DEFAULT '',    -- depot: the directory it is mirrored under
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
);

-- A depot's documents: its index, the vendor indexes, the metadata zips. Fetched conditionally; the
-- index documents are small and kept here, a metadata zip's last fetched copy is kept on disk under
-- .esxmirror/depot/<source>/<relpath>. published_sha256: what <dest>/<source>/<relpath> holds now.
CREATE TABLE depot_documents (
  source           TEXT NOT NULL,
  relpath          TEXT NOT NULL,
  kind             TEXT NOT NULL CHECK (kind IN ('depot-index', 'vendor-index', 'metadata')),
  url              TEXT NOT NULL,
  etag             TEXT NOT NULL DEFAULT '',
  last_modified    TEXT NOT NULL DEFAULT '',
  checked_at       INTEGER NOT NULL,
  changed_at       INTEGER NOT NULL,
  sha256           TEXT NOT NULL,
  size             INTEGER NOT NULL,
  body             BLOB,
  published_sha256 TEXT,
  published_at     INTEGER,
  unlisted_since   INTEGER,                -- published, but no selected entry names it since then
  PRIMARY KEY (source, relpath)
);

-- What each fetched metadata zip references, so an unchanged zip (304) is not read again.
CREATE TABLE depot_metadata_vibs (
  source   TEXT NOT NULL,
  metadata TEXT NOT NULL,                 -- relpath of the zip
  vib      TEXT NOT NULL,                 -- relpath of the VIB
  PRIMARY KEY (source, metadata, vib)
);

-- Every VIB a metadata zip referenced, stored once per source whatever number of zips name it.
CREATE TABLE depot_vibs (
  source             TEXT NOT NULL,
  relpath            TEXT NOT NULL,
  vib_id             TEXT NOT NULL,
  url                TEXT NOT NULL,
  size               INTEGER NOT NULL,
  sha256             TEXT NOT NULL,
  state              TEXT NOT NULL CHECK (state IN ('discovered', 'downloading', 'placed', 'failed')),
  failures           INTEGER NOT NULL DEFAULT 0,
  last_error         TEXT,
  next_retry_at      INTEGER,
  placed_at          INTEGER,
  unreferenced_since INTEGER,             -- no published zip of a selected version names it since then
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (source, relpath)
);
CREATE INDEX depot_vibs_by_state ON depot_vibs(source, state);

-- The depot's bulletins (what `list` shows), and which zips name them.
CREATE TABLE depot_bulletins (
  source       TEXT NOT NULL,
  id           TEXT NOT NULL,
  vendor       TEXT NOT NULL DEFAULT '',
  summary      TEXT NOT NULL DEFAULT '',
  severity     TEXT NOT NULL DEFAULT '',
  category     TEXT NOT NULL DEFAULT '',
  release_type TEXT NOT NULL DEFAULT '',
  release_date TEXT,
  versions     TEXT NOT NULL DEFAULT '',  -- its platforms' versions, space-separated
  first_seen   INTEGER NOT NULL,
  last_seen    INTEGER NOT NULL,
  PRIMARY KEY (source, id)
);
CREATE TABLE depot_bulletin_vibs (
  source   TEXT NOT NULL,
  bulletin TEXT NOT NULL,
  vib      TEXT NOT NULL,                 -- relpath of the VIB
  PRIMARY KEY (source, bulletin, vib)
);
CREATE TABLE depot_metadata_bulletins (
  source   TEXT NOT NULL,
  metadata TEXT NOT NULL,
  bulletin TEXT NOT NULL,
  PRIMARY KEY (source, metadata, bulletin)
);
