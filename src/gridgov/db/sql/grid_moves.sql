-- Which households (and their residents) a grid edit moves: the preview the editor shows before saving
-- (grids/edits.py preview_moves). The edit is written inside a savepoint between @before and @moves, then
-- rolled back; @before runs outside the savepoint so its table outlives the rollback.

-- @before: the live households of the changed area and their grid now
CREATE TEMP TABLE gridgov_moves_before ON COMMIT DROP AS
SELECT h.id, h.grid_id
  FROM household h
 WHERE h.valid_to IS NULL
   AND ST_Intersects(h.geom, ST_GeomFromWKB(:area, 4326));

-- @moves: after the edit's re-assignment, households by old and new grid code, with their live residents
SELECT o.code AS from_code, n.code AS to_code, count(*) AS households, coalesce(sum(p.n), 0) AS persons
  FROM gridgov_moves_before b
  JOIN household h ON h.id = b.id
  LEFT JOIN grid o ON o.id = b.grid_id
  LEFT JOIN grid n ON n.id = h.grid_id
  LEFT JOIN LATERAL (SELECT count(*) AS n FROM person p WHERE p.household_id = h.id AND p.valid_to IS NULL) p
         ON TRUE
 WHERE h.grid_id IS DISTINCT FROM b.grid_id
 GROUP BY o.code, n.code
 ORDER BY o.code NULLS FIRST, n.code NULLS FIRST;

-- @drop: done with the snapshot
DROP TABLE IF EXISTS gridgov_moves_before;
