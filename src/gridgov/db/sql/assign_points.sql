-- Assign every point entity of one table to exactly one live *leaf* grid (rule in assign/points.py; the same
-- rule for one point is gridgov_leaf_for_point() in migration 0003, used by the on-write triggers).
-- A point covered by several leaves (shared edge or vertex) goes to the covering leaf whose code sorts first;
-- a point covered by none gets NULL.
--
-- Sections run in order by assign/points.py, in one transaction; only rows whose grid changes are written.
-- {table} comes from a fixed whitelist (or is a checked staging table name); {leaf_where}/{where} are empty or
-- restrict the run to a changed area.
--
-- Design: leaves are the outer loop, so each leaf polygon is the first argument of ST_Covers for ~100 points
-- in a row and PostGIS keeps it prepared (point-in-polygon through a cached edge tree); the points come from
-- the GiST index of {table}. The per-leaf scan is a CREATE TABLE AS, which PostgreSQL may run in parallel
-- (UPDATE cannot). Each leaf reports how many of its own rows it still covers, and only the rows it covers
-- that carry another grid_id (or none): in steady state that is just the points on shared edges.

-- @scan: per leaf, its own rows it still covers and the rows it covers that point elsewhere
-- COALESCE(l.geom, l.geom) is l.geom hidden from grid's GiST index: the only plan left is leaves outer, points
-- from the index of {table} inner. A leaf is a live grid without live children (an anti join, parallel-safe).
CREATE TEMP TABLE gridgov_assign_scan ON COMMIT DROP AS
SELECT l.id AS gid, l.code,
       count(*) FILTER (WHERE e.grid_id = l.id) AS own,
       gridgov_array_agg(e.id) FILTER (WHERE e.grid_id IS DISTINCT FROM l.id) AS ids,
       gridgov_array_agg(e.grid_id) FILTER (WHERE e.grid_id IS DISTINCT FROM l.id) AS olds
  FROM grid l
  JOIN {table} e ON ST_Covers(COALESCE(l.geom, l.geom), e.geom) {where}
 WHERE l.valid_to IS NULL
   AND l.lineage_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
   {leaf_where}
 GROUP BY l.id;

-- @move: the winner (smallest covering code) of every point some leaf offered; kept where it is not the
-- current grid. The current grid competes too when it is still a live leaf covering the point (old_covers).
CREATE TEMP TABLE gridgov_assign_move ON COMMIT DROP AS
WITH a AS MATERIALIZED (
    SELECT u.id, u.old, s.gid, s.code
      FROM gridgov_assign_scan s
     CROSS JOIN LATERAL unnest(s.ids, s.olds) AS u(id, old)
     WHERE s.ids IS NOT NULL
), b AS (
    SELECT DISTINCT a.id, a.old, a.old AS gid, g.code
      FROM a
      JOIN grid g ON g.id = a.old
     WHERE g.valid_to IS NULL
       AND g.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
       AND ST_Covers(g.geom, (SELECT e.geom FROM {table} e WHERE e.id = a.id))
), w AS (
    SELECT DISTINCT ON (ab.id) ab.id, ab.old, ab.gid
      FROM (SELECT * FROM a UNION ALL SELECT * FROM b) ab
     ORDER BY ab.id, ab.code
)
SELECT w.id, w.old, w.gid, (w.id IN (SELECT b.id FROM b)) AS old_covers
  FROM w
 WHERE w.gid IS DISTINCT FROM w.old;

-- @apply: write the moves (the grid_id check keeps a concurrent manual change)
UPDATE {table} e
   SET grid_id = m.gid
  FROM gridgov_assign_move m
 WHERE e.id = m.id
   AND e.grid_id IS NOT DISTINCT FROM m.old;

-- @covered: how many rows some leaf covers. Compared with the assigned rows after @apply: more assigned rows
-- than covered ones means some rows keep a grid that no longer covers them (grid retired, split, moved away…)
-- and @stale is run. Covered = rows their own grid still covers (own) + rows that move in from elsewhere.
SELECT (SELECT coalesce(sum(s.own), 0) FROM gridgov_assign_scan s)
     + (SELECT count(*) FROM gridgov_assign_move m WHERE NOT m.old_covers);

-- @assigned: assigned and all rows (of the changed area), after @apply
SELECT count(e.grid_id), count(*) FROM {table} e WHERE TRUE {where};

-- @stale: grids holding more rows than stayed (own minus those that left to a smaller code) or moved in
SELECT c.gid
  FROM (SELECT e.grid_id AS gid, count(*) AS n FROM {table} e WHERE e.grid_id IS NOT NULL {where} GROUP BY 1) c
  LEFT JOIN gridgov_assign_scan s ON s.gid = c.gid
  LEFT JOIN (SELECT m.old AS gid, count(*) AS n FROM gridgov_assign_move m WHERE m.old_covers GROUP BY 1) o
         ON o.gid = c.gid
  LEFT JOIN (SELECT m.gid, count(*) AS n FROM gridgov_assign_move m GROUP BY 1) i ON i.gid = c.gid
 WHERE c.n > coalesce(s.own, 0) - coalesce(o.n, 0) + coalesce(i.n, 0);

-- @unassign: rows of stale grids that their grid does not cover are covered by no leaf (else they had moved)
UPDATE {table} e
   SET grid_id = NULL
 WHERE e.grid_id = ANY(CAST(:stale AS bigint[])) {where}
   AND NOT EXISTS (
        SELECT 1 FROM grid g
         WHERE g.id = e.grid_id
           AND g.valid_to IS NULL
           AND g.lineage_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
           AND ST_Covers(g.geom, e.geom));
