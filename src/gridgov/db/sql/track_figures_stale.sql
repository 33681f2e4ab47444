-- Tracks of the selection (track_filter.sql) whose stored leaf statistics are missing or were computed
-- against another grid revision than :grid_rev (track_derived.grid_rev).
SELECT k.id
  FROM patrol_track k
  LEFT JOIN patrol_team t ON t.id = k.team_id  -- a daytime inspection may have no team
  LEFT JOIN track_derived d ON d.track_id = k.id
 WHERE {track_filter}
   AND (d.track_id IS NULL OR d.grid_rev <> CAST(:grid_rev AS bigint))
