-- The grids of a ledger: live now (:as_of NULL) or valid at :as_of, by identity (the live row's id),
-- with a flag for leaves and one for the ledger's subtree (in_tree: the grid coded by the parent parameter
-- and everything below it; every grid without one). A temp table with a GiST index, so the as-of
-- assignment can use it. The grids outside the subtree stay: the as-of assignment's tie rule on shared
-- edges compares every leaf, the private-staff reach may start above the parent, and the subtree's root
-- keeps its parent code. ledger.sql and ledger_assign.sql read only what in_tree selects.
-- Geometries are copied only for an as-of ledger (now, the stored assignment is read instead).
CREATE TEMP TABLE ledger_grid ON COMMIT DROP AS
SELECT coalesce(g.lineage_id, g.id) AS gid, g.code, g.name, g.level, g.parent_id AS parent_gid,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN NULL ELSE g.geom END AS geom,
       NOT EXISTS (SELECT 1 FROM grid c
                    WHERE c.parent_id = coalesce(g.lineage_id, g.id)
                      AND ((CAST(:as_of AS timestamptz) IS NULL AND c.valid_to IS NULL AND c.lineage_id IS NULL)
                           OR (c.valid_from <= CAST(:as_of AS timestamptz)
                               AND (c.valid_to IS NULL OR c.valid_to > CAST(:as_of AS timestamptz))))) AS is_leaf,
       CAST(:parent AS text) IS NULL AS in_tree
  FROM grid g
 WHERE (CAST(:as_of AS timestamptz) IS NULL AND g.valid_to IS NULL AND g.lineage_id IS NULL)
    OR (g.valid_from <= CAST(:as_of AS timestamptz)
        AND (g.valid_to IS NULL OR g.valid_to > CAST(:as_of AS timestamptz)));
CREATE INDEX ON ledger_grid (parent_gid);
CREATE INDEX ON ledger_grid (gid);
ANALYZE ledger_grid;
WITH RECURSIVE sub(gid) AS (
    SELECT gid FROM ledger_grid WHERE code = CAST(:parent AS text)
    UNION
    SELECT c.gid FROM ledger_grid c JOIN sub ON c.parent_gid = sub.gid
)
UPDATE ledger_grid l SET in_tree = true FROM sub WHERE l.gid = sub.gid AND NOT l.in_tree;
CREATE INDEX ON ledger_grid USING gist (geom);
