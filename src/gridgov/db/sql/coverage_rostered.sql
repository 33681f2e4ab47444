-- The leaf grids (:leaf_ids) that some roster of the period (:date_from … :date_to, nights, NULL = open; of team
-- :team_code, or any) put inside a team's patrol area (the roster's area, else the team's live areas): more than
-- half of the grid lies in the area. Low coverage there is a missed duty, worth an outline; elsewhere it is not.
-- One row with the roster entries of the period (n) and the ids (NULL when none lies in a rostered area).
WITH zone AS (
    SELECT ST_Union(a.geom) AS g, count(DISTINCT r.id) AS n
      FROM patrol_roster r
      JOIN patrol_team t ON t.id = r.team_id
      JOIN patrol_area a ON a.id = r.area_id
                         OR (r.area_id IS NULL AND a.team_id = r.team_id AND a.valid_to IS NULL)
     WHERE (CAST(:date_from AS date) IS NULL OR r.night >= CAST(:date_from AS date))
       AND (CAST(:date_to AS date) IS NULL OR r.night <= CAST(:date_to AS date))
       AND (CAST(:team_code AS text) IS NULL OR t.code = CAST(:team_code AS text))
)
SELECT z.n,
       (SELECT array_agg(g.id)
          FROM grid g
         WHERE g.id = ANY (CAST(:leaf_ids AS bigint[]))
           AND z.g IS NOT NULL
           AND ST_Intersects(g.geom, z.g)
           AND ST_Area(ST_Intersection(g.geom, z.g)) > 0.5 * ST_Area(g.geom)) AS ids
  FROM zone z
