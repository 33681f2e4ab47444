-- Tracks whose leaf statistics a grid change in :area (WKB, EPSG:4326) can alter: those meeting the area or
-- a live leaf that meets it (a parent that became a leaf when its last child went, a neighbour whose share of
-- a boundary segment changed). Bounding boxes only: a few tracks too many cost little.
WITH region AS (
    SELECT ST_GeomFromWKB(:area, 4326) AS g
    UNION ALL
    SELECT l.geom
      FROM grid l
     WHERE l.valid_to IS NULL AND l.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
       AND ST_Intersects(l.geom, ST_GeomFromWKB(:area, 4326))
)
SELECT DISTINCT k.id FROM patrol_track k JOIN region r ON k.geom && r.g
