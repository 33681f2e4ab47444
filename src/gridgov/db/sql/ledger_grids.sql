-- The grids of a ledger: live now (:as_of NULL) or valid at :as_of, by identity (the live row's id),
-- with a flag for leaves. A temp table with a GiST index, so the as-of assignment can use it.
CREATE TEMP TABLE ledger_grid ON COMMIT DROP AS
SELECT coalesce(g.lineage_id, g.id) AS gid, g.code, g.name, g.level, g.parent_id AS parent_gid, g.geom
  FROM grid g
 WHERE (CAST(:as_of AS timestamptz) IS NULL AND g.valid_to IS NULL AND g.lineage_id IS NULL)
    OR (g.valid_from <= CAST(:as_of AS timestamptz)
        AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz)));
ALTER TABLE ledger_grid ADD COLUMN is_leaf boolean;
UPDATE ledger_grid l SET is_leaf = NOT EXISTS (SELECT 1 FROM ledger_grid c WHERE c.parent_gid = l.gid);
CREATE INDEX ON ledger_grid USING gist (geom);
ANALYZE ledger_grid;
