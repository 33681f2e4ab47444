-- Assign every point entity of one table to exactly one live *leaf* grid.
-- Rule (documented in assign/points.py): a point covered by several leaf grids (it lies on a shared
-- edge or vertex) goes to the covering grid whose code sorts first; a point covered by none gets NULL.
-- {where} is empty or restricts the run to a changed area (an incremental update).
-- {table} is substituted by the caller from a fixed whitelist.
WITH pick AS (
    SELECT e.id,
           (SELECT l.id
              FROM grid l
             WHERE l.valid_to IS NULL
               AND l.lineage_id IS NULL
               AND ST_Covers(l.geom, e.geom)
               AND NOT EXISTS (SELECT 1 FROM grid c
                                WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
             ORDER BY l.code
             LIMIT 1) AS grid_id
      FROM {table} e
      {where}
)
UPDATE {table} e
   SET grid_id = pick.grid_id
  FROM pick
 WHERE pick.id = e.id
   AND e.grid_id IS DISTINCT FROM pick.grid_id;
