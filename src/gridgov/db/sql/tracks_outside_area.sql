-- Tracks that leave their team's patrol area by more than :buffer_m metres (the GPS tolerance).
-- Work in the metric projection :srid. The zone is the union of the team's patrol areas buffered by
-- :buffer_m. Tracks covered by the zone are dropped at once (prepared ST_Covers); the others are cut into
-- their segments and the part of each segment outside the zone is summed, so a stretch walked twice
-- counts twice (distance walked, like track_grid_stats.sql). max_distance_m: the farthest fix from the
-- (unbuffered) area. Flagged: a fix beyond the zone (max_distance_m > :buffer_m), or more than
-- :min_outside_m metres of line outside it — shorter stretches with every fix inside are chords cutting a
-- concave corner of the area between two fixes, not excursions. A team without any patrol area has
-- every track reported, wholly outside.
-- Filters: :date_from, :date_to, :team_code, :track_ids (track_filter.sql).
WITH trk AS (
    SELECT k.id, k.team_id, ST_Transform(k.geom, CAST(:srid AS int)) AS gm
      FROM patrol_track k
      JOIN patrol_team t ON t.id = k.team_id
     WHERE {track_filter}
), zone AS MATERIALIZED (
    SELECT team_id, area, ST_Buffer(area, CAST(:buffer_m AS float8)) AS z
      FROM (SELECT a.team_id, ST_Union(ST_Transform(a.geom, CAST(:srid AS int))) AS area
              FROM patrol_area a
             WHERE a.team_id IN (SELECT team_id FROM trk) AND a.valid_to IS NULL
             GROUP BY a.team_id) u
), cand AS MATERIALIZED (
    SELECT k.id, k.gm, z.area, z.z
      FROM trk k
      LEFT JOIN zone z ON z.team_id = k.team_id
     WHERE z.z IS NULL OR NOT ST_Covers(z.z, k.gm)
), outside AS (
    SELECT c.id, o.outside_m
      FROM cand c
     CROSS JOIN LATERAL (
           SELECT sum(CASE WHEN c.z IS NULL THEN ST_Length(d.geom)
                           WHEN ST_Covers(c.z, d.geom) THEN 0
                           ELSE ST_Length(ST_Difference(d.geom, c.z)) END) AS outside_m
             FROM ST_DumpSegments(c.gm) d) o
), far AS (
    SELECT c.id, f.max_distance_m
      FROM cand c
     CROSS JOIN LATERAL (
           SELECT max(CASE WHEN ST_Intersects(c.area, d.geom) THEN 0 ELSE ST_Distance(c.area, d.geom) END)
                      AS max_distance_m
             FROM ST_DumpPoints(c.gm) d) f
     WHERE c.area IS NOT NULL
)
SELECT k.id AS track_id, t.code AS team_code, t.name AS team_name, k.night, k.shift, k.started_at, k.ended_at,
       ST_Length(c.gm)::float8 AS length_m, o.outside_m::float8 AS outside_m,
       f.max_distance_m::float8 AS max_distance_m, c.z IS NOT NULL AS has_area
  FROM cand c
  JOIN outside o ON o.id = c.id
  LEFT JOIN far f ON f.id = c.id
  JOIN patrol_track k ON k.id = c.id
  JOIN patrol_team t ON t.id = k.team_id
 WHERE c.z IS NULL
    OR f.max_distance_m > CAST(:buffer_m AS float8)
    OR o.outside_m > CAST(:min_outside_m AS float8)
 ORDER BY k.night, k.shift, t.code, k.started_at
