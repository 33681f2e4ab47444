-- Incidents of the grids :grid_ids reported in [:date_from, :date_to] (local days in time zone :tz; either
-- end open when NULL) and, when :t_from is given, at a local time of day in [:t_from, :t_to) (a window whose end
-- is not after its start runs over midnight: 上半夜, 下半夜, 白天 or hours typed), for the coverage map's heatmap:
-- only what the map shows (point, category, local day).
SELECT ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.category,
       CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS date) AS day
  FROM incident i
 WHERE i.grid_id = ANY (CAST(:grid_ids AS bigint[]))
   AND (CAST(:date_from AS date) IS NULL
        OR i.reported_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE CAST(:tz AS text))
   AND (CAST(:date_to AS date) IS NULL
        OR i.reported_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE CAST(:tz AS text))
   AND (CAST(:t_from AS time) IS NULL
        OR CASE WHEN CAST(:t_from AS time) < CAST(:t_to AS time)
                THEN CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS time) >= CAST(:t_from AS time)
                     AND CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS time) < CAST(:t_to AS time)
                ELSE CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS time) >= CAST(:t_from AS time)
                     OR CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS time) < CAST(:t_to AS time) END)
