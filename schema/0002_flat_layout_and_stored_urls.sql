-- Schema 2: the bundle directory is the archive's top directory, and URLs are stored without secrets.

-- How a placed bundle's directory is laid out. 'flat': its files directly inside <date>_<bundle>/ (the
-- archive's single top directory named like the bundle is the bundle directory, DESIGN §5). 'nested':
-- placed by a release before schema 2, which kept that top directory inside (<date>_<bundle>/<bundle>/);
-- the next sync converts it on disk, bundle by bundle, and sets 'flat'.
ALTER TABLE bundles ADD COLUMN layout TEXT NOT NULL DEFAULT 'flat' CHECK (layout IN ('flat', 'nested'));
UPDATE bundles SET layout = 'nested' WHERE state = 'placed';

-- Releases before schema 2 stored URLs as given, userinfo and tokens included. The migration's code
-- (src/store/migration_code.cpp) rewrites every URL, text and JSON column into the stored form; what a
-- page yielded may have lost a value in that, so every page is read again once (cheap: pages, never
-- bundles). The database is then rebuilt (VACUUM) so no free page keeps the old text.
UPDATE pages SET etag = '', last_modified = '';
