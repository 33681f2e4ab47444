-- Patrol coverage of every live grid (all levels, or one :level) over the selected tracks.
-- covered_m2 = area of (union of the tracks buffered by :buffer_m) ∩ grid, computed per grid geometry
-- (parents too: coverage is not additive), in the metric projection :srid; area_m2 in the same frame.
-- The union is built once from stored footprints (track_footprint: one buffer per track; night_footprint:
-- their union per night, for a period's every track; both made by gridgov.patrol.track_figures; not one
-- buffer of all tracks, which explodes in memory), cut into small pieces and intersected with each grid
-- through their bounding boxes.
-- length_m / seconds: the stored leaf statistics (track_grid_stats_stored.sql, pasted in as the stats CTE) rolled up
-- through the hierarchy (each grid is its own ancestor), so a parent equals the sum of its leaf children.
-- Filters: :date_from, :date_to, :team_code, :track_ids (track_filter.sql); :level and :grid_ids narrow the grids.
WITH RECURSIVE live AS (
    SELECT id, parent_id, level, geom FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL
), anc(leaf_id, anc_id) AS (
    SELECT id, id FROM live
    UNION ALL
    SELECT a.leaf_id, l.parent_id FROM anc a JOIN live l ON l.id = a.anc_id WHERE l.parent_id IS NOT NULL
), stats AS (
    {track_grid_stats}
), leaf_sum AS (
    SELECT grid_id, sum(length_m) AS length_m, sum(seconds_inside) AS seconds FROM stats GROUP BY grid_id
), rolled AS (
    SELECT a.anc_id AS grid_id, sum(s.length_m) AS length_m, sum(s.seconds) AS seconds
      FROM anc a JOIN leaf_sum s ON s.grid_id = a.leaf_id
     GROUP BY a.anc_id
), cover AS MATERIALIZED (
    -- every track of a period (:by_night): the nights' unions; a team or a list of tracks: their footprints
    SELECT ST_Union(x.geom) AS u
      FROM (SELECT n.geom
              FROM night_footprint n
             WHERE CAST(:by_night AS boolean)
               AND n.buffer_m = CAST(:buffer_m AS float8) AND n.srid = CAST(:srid AS int)
               AND (CAST(:date_from AS date) IS NULL OR n.night >= CAST(:date_from AS date))
               AND (CAST(:date_to AS date) IS NULL OR n.night <= CAST(:date_to AS date))
            UNION ALL
            SELECT f.geom
              FROM track_footprint f
              JOIN patrol_track k ON k.id = f.track_id
              LEFT JOIN patrol_team t ON t.id = k.team_id  -- a daytime inspection may have no team
             WHERE NOT CAST(:by_night AS boolean)
               AND {track_filter}
               AND f.buffer_m = CAST(:buffer_m AS float8) AND f.srid = CAST(:srid AS int)) x
), piece AS MATERIALIZED (
    SELECT ST_Subdivide(u, 256) AS p FROM cover WHERE u IS NOT NULL AND NOT ST_IsEmpty(u)
), gm AS MATERIALIZED (
    SELECT id, ST_Transform(geom, CAST(:srid AS int)) AS g
      FROM live
     WHERE (CAST(:level AS text) IS NULL OR level = CAST(:level AS text))
       AND (CAST(:grid_ids AS bigint[]) IS NULL OR id = ANY (CAST(:grid_ids AS bigint[])))
), covered AS (
    SELECT gm.id,
           sum(CASE WHEN ST_Covers(gm.g, p.p) THEN ST_Area(p.p) ELSE ST_Area(ST_Intersection(gm.g, p.p)) END) AS m2
      FROM gm JOIN piece p ON p.p && gm.g
     GROUP BY gm.id
)
SELECT gm.id AS grid_id,
       coalesce(c.m2, 0)::float8 AS covered_m2,
       ST_Area(gm.g)::float8 AS area_m2,
       coalesce(r.length_m, 0)::float8 AS length_m,
       coalesce(r.seconds, 0)::float8 AS seconds
  FROM gm
  LEFT JOIN covered c ON c.id = gm.id
  LEFT JOIN rolled r ON r.grid_id = gm.id
