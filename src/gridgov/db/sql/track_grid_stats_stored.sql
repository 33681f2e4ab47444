-- The stored statistics (track_grid_stat, kept by gridgov.patrol.track_figures) of the selected tracks
-- (track_filter.sql) inside the grids that are live leaves now: the same columns as track_grid_stats.sql,
-- which computes them. A grid that stopped being a leaf keeps rows of tracks its change did not reach; they
-- are left out here, as the computation would leave them out.
SELECT s.track_id, t.code AS team_code, k.night, k.shift, s.grid_id, g.code AS grid_code,
       s.length_m, s.seconds_inside, s.entries
  FROM track_grid_stat s
  JOIN patrol_track k ON k.id = s.track_id
  LEFT JOIN patrol_team t ON t.id = k.team_id  -- a daytime inspection may have no team
  JOIN grid g ON g.id = s.grid_id
 WHERE {track_filter}
   AND g.valid_to IS NULL AND g.lineage_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
