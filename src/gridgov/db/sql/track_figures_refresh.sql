-- Recompute the stored leaf statistics of the tracks :track_ids (track_grid_stats.sql, pasted in with the
-- same track list) and stamp them with the grid revision :grid_rev.
DELETE FROM track_grid_stat WHERE track_id = ANY (CAST(:track_ids AS bigint[]));
INSERT INTO track_grid_stat (track_id, grid_id, length_m, seconds_inside, entries)
SELECT s.track_id, s.grid_id, s.length_m, s.seconds_inside, s.entries
  FROM ({track_grid_stats}) s;
INSERT INTO track_derived (track_id, grid_rev)
SELECT id, CAST(:grid_rev AS bigint) FROM unnest(CAST(:track_ids AS bigint[])) AS u(id)
    ON CONFLICT (track_id) DO UPDATE SET grid_rev = EXCLUDED.grid_rev;
