-- Per live LEAF grid × patrol track: metres and seconds inside the grid, and entries.
-- Rule (documented in patrol/tracks.py): a track is the chain of its timed points; each segment between
-- consecutive points is split between the leaf grids by the fraction of its length inside each grid
-- (ST_Intersection with the grid), and its duration is split by the same fractions (constant speed
-- within a segment). A segment on a shared edge counts in several grids, so fractions are normalised
-- per segment to sum to at most 1: every metre and second is counted once. A stationary segment (two
-- identical points) gives its duration to the grid(s) covering the point. Segments outside every leaf
-- grid are not counted anywhere. Entries = runs of consecutive segments inside the grid.
-- Fractions are measured along the EPSG:4326 segment (a ratio, the same along any straight
-- parametrisation); metres come from the segment's length on the spheroid (geography).
-- The cleaning's flags (patrol/cleaning.py): a point flagged 跳点 (a GPS jump) is not in the chain at all, so no
-- segment touches it; a segment ending at a 断点 (the first fix after a gap) was not walked and is left out, so
-- the runs on either side of a gap are separate entries and the gap's time counts nowhere.
-- Cheap native tests first: a segment that does not touch a grid's boundary is wholly inside or wholly
-- outside it (point-in-polygon of its start), so GEOS intersections run only for boundary-touching pairs.
-- Filters: :date_from, :date_to (night, inclusive), :team_code, :track_ids, :kind (NULL = no filter):
-- track_filter.sql.
WITH trk AS (
    SELECT k.id
      FROM patrol_track k
      LEFT JOIN patrol_team t ON t.id = k.team_id
     WHERE {track_filter}
), leaf AS MATERIALIZED (
    SELECT g.id, g.geom, ST_Boundary(g.geom) AS bnd
      FROM grid g
     WHERE g.valid_to IS NULL
       AND g.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c
                        WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
), seg AS MATERIALIZED (
    SELECT track_id, n, a, b, g, ST_Length(g) AS deg_len, ST_Length(g::geography) AS len_m, dt
      FROM (SELECT p.track_id, row_number() OVER w AS n, p.geom AS a, lead(p.geom) OVER w AS b,
                   lead(p.flag) OVER w AS b_flag, ST_MakeLine(p.geom, lead(p.geom) OVER w) AS g,
                   extract(epoch FROM lead(p.t) OVER w - p.t) AS dt
              FROM patrol_point p
              JOIN trk ON trk.id = p.track_id
             WHERE p.flag IS DISTINCT FROM '跳点'
            WINDOW w AS (PARTITION BY p.track_id ORDER BY p.seq)) x
     WHERE b IS NOT NULL AND b_flag IS DISTINCT FROM '断点'
), pair AS MATERIALIZED (
    SELECT s.track_id, s.n, s.len_m, s.dt, l.id AS grid_id,
           CASE WHEN s.deg_len = 0 OR NOT ST_DWithin(l.bnd, s.g, 0)
                THEN CASE WHEN ST_Intersects(l.geom, s.a) THEN 1.0 ELSE 0.0 END
                ELSE ST_Length(ST_Intersection(l.geom, s.g)) / s.deg_len
           END AS frac
      FROM seg s
     CROSS JOIN LATERAL (SELECT g.id FROM grid g
                          WHERE g.geom && s.g AND g.valid_to IS NULL AND g.lineage_id IS NULL) c
      JOIN leaf l ON l.id = c.id
), part AS (
    SELECT track_id, n, grid_id, len_m, dt,
           frac / greatest(1.0, sum(frac) OVER (PARTITION BY track_id, n)) AS w
      FROM pair
     WHERE frac > 0
), run AS (
    SELECT track_id, grid_id, len_m * w AS m, dt * w AS s,
           CASE WHEN lag(n) OVER (PARTITION BY track_id, grid_id ORDER BY n) = n - 1 THEN 0 ELSE 1 END AS entry
      FROM part
), agg AS (
    SELECT track_id, grid_id, sum(m) AS length_m, sum(s) AS seconds_inside, sum(entry) AS entries
      FROM run
     GROUP BY track_id, grid_id
)
SELECT agg.track_id, t.code AS team_code, k.night, k.shift, agg.grid_id, g.code AS grid_code,
       agg.length_m::float8 AS length_m, agg.seconds_inside::float8 AS seconds_inside, agg.entries::int AS entries
  FROM agg
  JOIN patrol_track k ON k.id = agg.track_id
  LEFT JOIN patrol_team t ON t.id = k.team_id
  JOIN grid g ON g.id = agg.grid_id
