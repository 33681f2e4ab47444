-- Patrol teams (all, or :team_code) for the patrol route map: one row per team and patrol area (the team
-- alone when it has none), with the area outline and planned route as WKB, the team's colour index (its
-- rank by code among all teams, so a team keeps its colour when drawn alone) and its latest night with tracks.
SELECT * FROM (
    SELECT t.id AS team_id, t.code, t.name, dense_rank() OVER (ORDER BY t.code) - 1 AS colour_idx,
           a.name AS area_name, ST_AsBinary(a.geom) AS area_wkb, ST_AsBinary(a.route) AS route_wkb,
           (SELECT max(k.night) FROM patrol_track k WHERE k.team_id = t.id) AS last_night
      FROM patrol_team t
      LEFT JOIN patrol_area a ON a.team_id = t.id AND a.valid_to IS NULL
     WHERE t.valid_to IS NULL
) x
 WHERE CAST(:team_code AS text) IS NULL OR x.code = CAST(:team_code AS text)
 ORDER BY x.code, x.area_name
