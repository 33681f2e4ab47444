-- The daytime inspections (日巡查) of :night (a date), of team :team_code or all: who walked, when, the line as
-- WKB and its length in metres on the spheroid. Kept apart from the night patrols (their own layer).
SELECT k.id, coalesce(s.name, s.code, t.name) AS walker, t.code AS team_code, k.started_at, k.ended_at,
       ST_AsBinary(k.geom) AS wkb, ST_Length(k.geom::geography)::float8 AS length_m
  FROM patrol_track k
  LEFT JOIN patrol_team t ON t.id = k.team_id
  LEFT JOIN staff s ON s.id = k.staff_id
 WHERE k.night = :night
   AND k.kind = '日巡查'
   AND (CAST(:team_code AS text) IS NULL OR t.code = CAST(:team_code AS text))
 ORDER BY k.started_at, k.id
