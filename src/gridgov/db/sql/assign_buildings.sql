-- Assign buildings: a footprint goes to the live leaf grid it overlaps most (area in m² on the geography),
-- ties to the code that sorts first; a point building follows the point rule (covering leaf, smallest code).
-- The same rule for one building is gridgov_leaf_for_building() in migration 0003 (on-write triggers).
-- A leaf that covers the whole footprint overlaps it by the footprint's own area, so the costly
-- intersection is only computed for footprints that straddle a leaf boundary.
-- Leaves are the outer loop (prepared polygons); {leaf_where}/{where} are empty or restrict the run to a
-- changed area. Only rows whose grid changes are written.
WITH leaf AS MATERIALIZED (
    SELECT l.id, l.code, l.geom
      FROM grid l
     WHERE l.valid_to IS NULL
       AND l.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
       {leaf_where}
), cand AS (
    SELECT b.id, l.id AS gid, l.code,
           CASE WHEN b.is_point THEN 0
                WHEN ST_Covers(l.geom, b.geom) THEN ST_Area(b.geom::geography)
                ELSE ST_Area(ST_Intersection(l.geom, b.geom)::geography) END AS area
      FROM leaf l
     CROSS JOIN LATERAL (
            SELECT b.id, b.geom, GeometryType(b.geom) = 'POINT' AS is_point
              FROM building b
             WHERE ST_Intersects(l.geom, b.geom) {where}
            OFFSET 0) b
), win AS (
    SELECT DISTINCT ON (cand.id) cand.id, cand.gid
      FROM cand
     ORDER BY cand.id, cand.area DESC, cand.code
), pick AS (
    SELECT b.id, win.gid
      FROM building b
      LEFT JOIN win ON win.id = b.id
     WHERE TRUE {where}
)
UPDATE building b
   SET grid_id = pick.gid
  FROM pick
 WHERE pick.id = b.id
   AND b.grid_id IS DISTINCT FROM pick.gid;
