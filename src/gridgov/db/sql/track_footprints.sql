-- Store the footprint (the track buffered by :buffer_m metres in the metric projection :srid) of every
-- selected track (track_filter.sql; daytime inspections without a team too) that has none for this buffer and
-- projection yet. The geometry is the walked parts only (the cleaning split it at gaps and left jumps out).
INSERT INTO track_footprint (track_id, buffer_m, srid, geom)
SELECT k.id, CAST(:buffer_m AS float8), CAST(:srid AS int),
       ST_Buffer(ST_Transform(k.geom, CAST(:srid AS int)), CAST(:buffer_m AS float8))
  FROM patrol_track k
  LEFT JOIN patrol_team t ON t.id = k.team_id
 WHERE {track_filter}
   AND NOT EXISTS (SELECT 1 FROM track_footprint f
                    WHERE f.track_id = k.id AND f.buffer_m = CAST(:buffer_m AS float8) AND f.srid = CAST(:srid AS int))
    ON CONFLICT DO NOTHING;
-- Keep the footprints of the few buffers asked for most recently (a request may ask for any buffer).
DELETE FROM track_footprint
 WHERE (buffer_m, srid) NOT IN (SELECT buffer_m, srid FROM track_footprint
                                 GROUP BY buffer_m, srid ORDER BY max(created_at) DESC LIMIT CAST(:keep AS int));
