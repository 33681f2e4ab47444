-- The grid map's search index in vector-tile mode: live grids under :parent (itself included; every live
-- grid when NULL) of :level (all when NULL), by code, each with a label point inside it and its bounding
-- box. No outline and no ledger: the tiles draw the grids and a popup fetches its ledger row on click.
WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL
       AND (CAST(:parent AS text) IS NULL OR code = CAST(:parent AS text))
    UNION
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
)
SELECT g.code, g.name, g.level, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat,
       ST_XMin(g.geom) AS xmin, ST_YMin(g.geom) AS ymin, ST_XMax(g.geom) AS xmax, ST_YMax(g.geom) AS ymax
  FROM grid g JOIN sub ON sub.id = g.id
  CROSS JOIN LATERAL (SELECT ST_PointOnSurface(g.geom) AS pt) p
 WHERE g.geom IS NOT NULL AND NOT ST_IsEmpty(g.geom)
   AND (CAST(:level AS text) IS NULL OR g.level = CAST(:level AS text))
 ORDER BY g.code
