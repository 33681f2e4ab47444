-- Make again the per-night unions of track footprints (buffer :buffer_m, projection :srid) whose nights in
-- [:date_from, :date_to] (NULL = open) gained or lost footprints, and drop those of nights left without any.
-- Night patrols (:night_kind) only: daytime inspections have coverage of their own, never merged into the nights'.
WITH cur AS (
    SELECT k.night, array_agg(f.track_id ORDER BY f.track_id) AS ids
      FROM track_footprint f
      JOIN patrol_track k ON k.id = f.track_id
     WHERE f.buffer_m = CAST(:buffer_m AS float8) AND f.srid = CAST(:srid AS int)
       AND k.kind = CAST(:night_kind AS text)
       AND (CAST(:date_from AS date) IS NULL OR k.night >= CAST(:date_from AS date))
       AND (CAST(:date_to AS date) IS NULL OR k.night <= CAST(:date_to AS date))
     GROUP BY k.night
), stale AS (
    SELECT c.night, c.ids
      FROM cur c
      LEFT JOIN night_footprint n
        ON n.night = c.night AND n.buffer_m = CAST(:buffer_m AS float8) AND n.srid = CAST(:srid AS int)
     WHERE n.track_ids IS DISTINCT FROM c.ids
)
INSERT INTO night_footprint (night, buffer_m, srid, track_ids, geom)
SELECT s.night, CAST(:buffer_m AS float8), CAST(:srid AS int), s.ids,
       (SELECT ST_Union(f.geom) FROM track_footprint f
         WHERE f.track_id = ANY (s.ids) AND f.buffer_m = CAST(:buffer_m AS float8) AND f.srid = CAST(:srid AS int))
  FROM stale s
    ON CONFLICT (night, buffer_m, srid) DO UPDATE SET track_ids = EXCLUDED.track_ids, geom = EXCLUDED.geom;
DELETE FROM night_footprint n
 WHERE n.buffer_m = CAST(:buffer_m AS float8) AND n.srid = CAST(:srid AS int)
   AND (CAST(:date_from AS date) IS NULL OR n.night >= CAST(:date_from AS date))
   AND (CAST(:date_to AS date) IS NULL OR n.night <= CAST(:date_to AS date))
   AND NOT EXISTS (SELECT 1 FROM track_footprint f JOIN patrol_track k ON k.id = f.track_id
                    WHERE k.night = n.night AND k.kind = CAST(:night_kind AS text) AND f.buffer_m = n.buffer_m
                      AND f.srid = n.srid);
