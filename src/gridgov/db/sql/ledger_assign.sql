-- Which ledger grid each household and incident belongs to. Now: the stored assignment. As of a past
-- moment: the same rule (covering leaf, smallest code on shared edges) against the grids of that moment.
CREATE TEMP TABLE ledger_hh ON COMMIT DROP AS
SELECT h.id, h.kind,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN h.grid_id
            ELSE (SELECT l.gid FROM ledger_grid l WHERE l.is_leaf AND ST_Covers(l.geom, h.geom)
                   ORDER BY l.code LIMIT 1) END AS gid
  FROM household h;
CREATE TEMP TABLE ledger_ev ON COMMIT DROP AS
SELECT e.id, e.category, e.status,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN e.grid_id
            ELSE (SELECT l.gid FROM ledger_grid l WHERE l.is_leaf AND ST_Covers(l.geom, e.geom)
                   ORDER BY l.code LIMIT 1) END AS gid
  FROM incident e
 WHERE (CAST(:date_from AS timestamptz) IS NULL OR e.reported_at >= CAST(:date_from AS timestamptz))
   AND (CAST(:date_to AS timestamptz) IS NULL OR e.reported_at < CAST(:date_to AS timestamptz));
CREATE TEMP TABLE ledger_bd ON COMMIT DROP AS
SELECT b.id,
       CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN b.grid_id
            ELSE (SELECT l.gid FROM ledger_grid l WHERE l.is_leaf AND ST_Intersects(l.geom, b.geom)
                   ORDER BY ST_Area(ST_Intersection(l.geom, b.geom)::geography) DESC, l.code LIMIT 1) END AS gid
  FROM building b;
