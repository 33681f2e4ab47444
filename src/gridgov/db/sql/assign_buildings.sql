-- Assign buildings: a footprint goes to the live leaf grid it overlaps most (area in m² on the
-- geography), ties to the code that sorts first; a point building follows the point rule.
-- {where} is empty or restricts the run to a changed area (an incremental update).
WITH pick AS (
    SELECT b.id,
           (SELECT l.id
              FROM grid l
             WHERE l.valid_to IS NULL
               AND l.lineage_id IS NULL
               AND (CASE WHEN GeometryType(b.geom) = 'POINT' THEN ST_Covers(l.geom, b.geom)
                         ELSE ST_Intersects(l.geom, b.geom) END)
               AND NOT EXISTS (SELECT 1 FROM grid c
                                WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
             ORDER BY CASE WHEN GeometryType(b.geom) = 'POINT' THEN 0
                           ELSE ST_Area(ST_Intersection(l.geom, b.geom)::geography) END DESC,
                      l.code
             LIMIT 1) AS grid_id
      FROM building b
      {where}
)
UPDATE building b
   SET grid_id = pick.grid_id
  FROM pick
 WHERE pick.id = b.id
   AND b.grid_id IS DISTINCT FROM pick.grid_id;
