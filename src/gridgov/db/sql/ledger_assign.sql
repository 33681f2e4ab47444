-- Which ledger grid each household and incident belongs to. Now: the stored assignment. As of a past
-- moment: the same rule (covering leaf, smallest code on shared edges) against the grids of that moment.
-- Only entities that can belong to the ledger's subtree are read: now, those assigned to one of its grids
-- (:tree_ids, the subtree's grid ids: an array, so the grid_id index is used);
-- as of a moment, those within the extent of its leaves (the rule itself still sees every leaf).
-- Households and buildings are the versions in force (gridgov.history): now, the live rows; as of a moment, the
-- row valid then, under its identity (the live id persons and households refer to).
CREATE TEMP TABLE ledger_hh ON COMMIT DROP AS
SELECT coalesce(h.lineage_id, h.id) AS id, h.kind,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN h.grid_id
            ELSE (SELECT l.gid FROM ledger_grid l WHERE l.is_leaf AND ST_Covers(l.geom, h.geom)
                   ORDER BY l.code LIMIT 1) END AS gid
  FROM household h
 WHERE (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN h.valid_to IS NULL
             ELSE h.valid_from <= CAST(:as_of AS timestamptz)
                  AND (h.valid_to IS NULL OR h.valid_to > CAST(:as_of AS timestamptz)) END)
   AND (CAST(:parent AS text) IS NULL
        OR (CAST(:as_of AS timestamptz) IS NULL AND h.grid_id = ANY(CAST(:tree_ids AS bigint[])))
        OR (CAST(:as_of AS timestamptz) IS NOT NULL AND h.geom && (SELECT ST_SetSRID(CAST(ST_Extent(l.geom) AS geometry), 4326)
                                                            FROM ledger_grid l WHERE l.in_tree AND l.is_leaf)));
CREATE TEMP TABLE ledger_ev ON COMMIT DROP AS
SELECT e.id, e.category, e.status,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN e.grid_id
            ELSE (SELECT l.gid FROM ledger_grid l WHERE l.is_leaf AND ST_Covers(l.geom, e.geom)
                   ORDER BY l.code LIMIT 1) END AS gid
  FROM incident e
 WHERE (CAST(:date_from AS timestamptz) IS NULL OR e.reported_at >= CAST(:date_from AS timestamptz))
   AND (CAST(:date_to AS timestamptz) IS NULL OR e.reported_at < CAST(:date_to AS timestamptz))
   AND (CAST(:parent AS text) IS NULL
        OR (CAST(:as_of AS timestamptz) IS NULL AND e.grid_id = ANY(CAST(:tree_ids AS bigint[])))
        OR (CAST(:as_of AS timestamptz) IS NOT NULL AND e.geom && (SELECT ST_SetSRID(CAST(ST_Extent(l.geom) AS geometry), 4326)
                                                            FROM ledger_grid l WHERE l.in_tree AND l.is_leaf)));
CREATE TEMP TABLE ledger_bd ON COMMIT DROP AS
SELECT coalesce(b.lineage_id, b.id) AS id,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN b.grid_id
            ELSE (SELECT l.gid FROM ledger_grid l WHERE l.is_leaf AND ST_Intersects(l.geom, b.geom)
                   ORDER BY ST_Area(ST_Intersection(l.geom, b.geom)::geography) DESC, l.code LIMIT 1) END AS gid
  FROM building b
 WHERE (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN b.valid_to IS NULL
             ELSE b.valid_from <= CAST(:as_of AS timestamptz)
                  AND (b.valid_to IS NULL OR b.valid_to > CAST(:as_of AS timestamptz)) END)
   AND (CAST(:parent AS text) IS NULL
        OR (CAST(:as_of AS timestamptz) IS NULL AND b.grid_id = ANY(CAST(:tree_ids AS bigint[])))
        OR (CAST(:as_of AS timestamptz) IS NOT NULL AND b.geom && (SELECT ST_SetSRID(CAST(ST_Extent(l.geom) AS geometry), 4326)
                                                            FROM ledger_grid l WHERE l.in_tree AND l.is_leaf)));
