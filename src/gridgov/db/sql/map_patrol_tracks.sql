-- The patrol tracks of night :night (of team :team_code, or all teams) with shift, times, source, the line
-- as WKB and its length in metres on the spheroid.
SELECT k.id, k.team_id, k.shift, k.started_at, k.ended_at, k.source,
       ST_AsBinary(k.geom) AS wkb, ST_Length(k.geom::geography)::float8 AS length_m
  FROM patrol_track k
  JOIN patrol_team t ON t.id = k.team_id
 WHERE k.night = :night
   AND k.kind = CAST(:night_kind AS text)
   AND (CAST(:team_code AS text) IS NULL OR t.code = CAST(:team_code AS text))
 ORDER BY t.code, k.started_at, k.id
