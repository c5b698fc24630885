-- Schema 5 (issue 10 §5): when each bundle and bulletin first became available, for the list of what is new
-- (the nightly mail, the run report, `esxmirror status --new`).

-- placed_at is the last placement (a replaced bundle gets a new one); first_placed_at the first.
ALTER TABLE bundles ADD COLUMN first_placed_at INTEGER;
UPDATE bundles SET first_placed_at = placed_at;

-- The first run after which every VIB of the bulletin was in place and a zip naming it was published.
-- Bulletins already so get the time their first such zip was published.
ALTER TABLE depot_bulletins ADD COLUMN placed_at INTEGER;
UPDATE depot_bulletins SET placed_at = (
  SELECT MIN(d.published_at) FROM depot_metadata_bulletins m
  JOIN depot_documents d ON d.source = m.source AND d.relpath = m.metadata AND d.published_sha256 IS NOT NULL
  WHERE m.source = depot_bulletins.source AND m.bulletin = depot_bulletins.id)
WHERE NOT EXISTS (
  SELECT 1 FROM depot_bulletin_vibs b LEFT JOIN depot_vibs v ON v.source = b.source AND v.relpath = b.vib
  WHERE b.source = depot_bulletins.source AND b.bulletin = depot_bulletins.id
    AND (v.state IS NULL OR v.state != 'placed'));
