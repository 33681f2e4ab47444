-- The selection of patrol tracks shared by track_grid_stats.sql, grid_coverage.sql and tracks_outside_area.sql:
-- k = patrol_track, t = its patrol_team (LEFT JOINed where daytime inspections without a team count). :date_from /
-- :date_to bound the night (a daytime inspection: its date; inclusive), :team_code and :track_ids narrow further,
-- :kind keeps one kind of track (夜间巡逻: night figures; 日巡查: the daytime inspections' own); NULL means no
-- filter. Pasted in by patrol/tracks.py and patrol/track_figures.py.
(CAST(:date_from AS date) IS NULL OR k.night >= CAST(:date_from AS date))
       AND (CAST(:date_to AS date) IS NULL OR k.night <= CAST(:date_to AS date))
       AND (CAST(:team_code AS text) IS NULL OR t.code = CAST(:team_code AS text))
       AND (CAST(:track_ids AS bigint[]) IS NULL OR k.id = ANY (CAST(:track_ids AS bigint[])))
       AND (CAST(:kind AS text) IS NULL OR k.kind = CAST(:kind AS text))
