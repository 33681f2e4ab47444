-- Attendance (考勤) of every roster entry of the nights [:date_from, :date_to] (of team :team_code, or every team),
-- in one statement: a row per entry (level 'team') and a row per person on it (level 'person').
-- The rule (documented in patrol/attendance.py): an entry's tracks are its team's night patrols (:night_kind) of that
-- night and shift; the zone is the entry's patrol area (else the team's first live area by code) buffered by
-- :buffer_m (the GPS tolerance), in the metric projection :srid. Fixes flagged 跳点 are ignored. first_seen /
-- last_seen: the first and last fix inside the zone. minutes_inside: the time of the segments inside the zone
-- (the part of a segment inside, at constant speed between its fixes; a segment ending at a 断点 was not walked),
-- the union over the entry's tracks (people walking together count once); metres: the walked metres inside the
-- zone (spheroid), summed over the tracks. Coverage: the area's leaf grids (live leaves at least half inside the
-- area) with walked metres in the stored per-track figures (track_grid_stat). Without an area, every fix counts
-- and there is no coverage. Status by priority: 缺勤 (no fix inside) > 迟到 (first_seen later than the shift
-- start + :late_s seconds) > 早退 (last_seen earlier than the shift end - :early_s seconds) > 出勤.
-- People: the team's members in force that night, the entry's leader, 替班 substitutes and anyone with a track
-- of their own for it. A person's figures come from their own tracks, else from the team's tracks without a
-- person, else none (缺勤). eligible (the night allowance): attended, not on 请假, not replaced by a 替班, and past
-- the first :probation months of membership.
-- Shift windows: :w_shift, :w_start (seconds after the night's midnight), :w_len (seconds), local in :tz.
WITH win AS (
    SELECT u.shift, u.start_s, u.len_s
      FROM unnest(CAST(:w_shift AS text[]), CAST(:w_start AS float8[]), CAST(:w_len AS float8[]))
           AS u(shift, start_s, len_s)
), ros AS MATERIALIZED (
    SELECT r.id, r.night, r.shift, r.team_id, t.code AS team_code, t.name AS team_name, t.unit,
           r.leader_staff_id, r.duty_cadre_staff_id, r.community_staff_id, r.source, r.note,
           (r.night + make_interval(secs => w.start_s)) AT TIME ZONE CAST(:tz AS text) AS starts,
           (r.night + make_interval(secs => w.start_s + w.len_s)) AT TIME ZONE CAST(:tz AS text) AS ends,
           a.id AS area_id, a.code AS area_code, a.name AS area_name
      FROM patrol_roster r
      JOIN patrol_team t ON t.id = r.team_id
      JOIN win w ON w.shift = r.shift
      LEFT JOIN LATERAL (
            SELECT a.id, a.code, a.name
              FROM patrol_area a
             WHERE (r.area_id IS NOT NULL AND a.id = r.area_id)
                OR (r.area_id IS NULL AND a.team_id = r.team_id AND a.valid_to IS NULL)
             ORDER BY a.code
             LIMIT 1) a ON true
     WHERE r.night BETWEEN CAST(:date_from AS date) AND CAST(:date_to AS date)
       AND (CAST(:team_code AS text) IS NULL OR t.code = CAST(:team_code AS text))
), area AS MATERIALIZED (
    SELECT a.id, a.geom, ST_Transform(a.geom, CAST(:srid AS int)) AS gm,
           ST_Buffer(ST_Transform(a.geom, CAST(:srid AS int)), CAST(:buffer_m AS float8)) AS zone
      FROM patrol_area a
     WHERE a.id IN (SELECT area_id FROM ros)
), leaf AS MATERIALIZED (
    SELECT a.id AS area_id, g.id AS grid_id, g.code, g.name
      FROM area a
      JOIN grid g ON g.geom && a.geom AND ST_Intersects(g.geom, a.geom)
     WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
       AND ST_Area(ST_Intersection(ST_Transform(g.geom, CAST(:srid AS int)), a.gm))
           >= 0.5 * ST_Area(ST_Transform(g.geom, CAST(:srid AS int)))
), trk AS MATERIALIZED (
    SELECT r.id AS ros_id, k.id AS track_id, k.staff_id
      FROM ros r
      JOIN patrol_track k ON k.team_id = r.team_id AND k.night = r.night AND k.shift = r.shift
                       AND k.kind = CAST(:night_kind AS text)
), pt AS MATERIALIZED (
    SELECT tr.ros_id, tr.track_id, tr.staff_id, p.seq, p.t, p.flag, p.geom,
           ST_Transform(p.geom, CAST(:srid AS int)) AS g
      FROM trk tr
      JOIN patrol_point p ON p.track_id = tr.track_id
     WHERE p.flag IS DISTINCT FROM '跳点'
), fix AS (
    SELECT pt.ros_id, pt.staff_id, pt.t
      FROM pt
      JOIN ros r ON r.id = pt.ros_id
      LEFT JOIN area a ON a.id = r.area_id
     WHERE a.zone IS NULL OR ST_Intersects(a.zone, pt.g)
), seg AS (
    SELECT x.ros_id, x.staff_id, x.a, x.g, x.ta, x.tb, ST_Length(x.g) AS len, ST_Length(x.g4326::geography) AS len_m
      FROM (SELECT pt.ros_id, pt.staff_id, pt.g AS a, ST_MakeLine(pt.g, lead(pt.g) OVER w) AS g,
                   ST_MakeLine(pt.geom, lead(pt.geom) OVER w) AS g4326, pt.t AS ta, lead(pt.t) OVER w AS tb,
                   lead(pt.flag) OVER w AS b_flag
              FROM pt
            WINDOW w AS (PARTITION BY pt.track_id ORDER BY pt.seq)) x
     WHERE x.tb IS NOT NULL AND x.b_flag IS DISTINCT FROM '断点'
), part AS (
    SELECT s.ros_id, s.staff_id, s.ta + (s.tb - s.ta) * f.f1 AS t1, s.ta + (s.tb - s.ta) * f.f2 AS t2,
           (f.f2 - f.f1) * s.len_m AS m
      FROM seg s
      JOIN ros r ON r.id = s.ros_id
      LEFT JOIN area a ON a.id = r.area_id
     CROSS JOIN LATERAL (
           SELECT 0.0::float8 AS f1, 1.0::float8 AS f2
            WHERE a.zone IS NULL
               OR CASE WHEN s.len = 0 THEN ST_Intersects(a.zone, s.a) ELSE ST_Covers(a.zone, s.g) END
           UNION ALL
           SELECT least(q.l1, q.l2), greatest(q.l1, q.l2)
             FROM (SELECT ST_LineLocatePoint(s.g, ST_StartPoint(d.geom)) AS l1,
                          ST_LineLocatePoint(s.g, ST_EndPoint(d.geom)) AS l2
                     FROM ST_Dump(ST_Intersection(a.zone, s.g)) d
                    WHERE ST_GeometryType(d.geom) = 'ST_LineString') q
            WHERE a.zone IS NOT NULL AND s.len > 0 AND ST_Intersects(a.zone, s.g) AND NOT ST_Covers(a.zone, s.g)
     ) f
), g_trk AS (
    SELECT ros_id, staff_id, GROUPING(staff_id) AS whole, count(*) AS tracks
      FROM trk
     GROUP BY GROUPING SETS ((ros_id), (ros_id, staff_id))
), g_fix AS (
    SELECT ros_id, staff_id, GROUPING(staff_id) AS whole, min(t) AS first_seen, max(t) AS last_seen
      FROM fix
     GROUP BY GROUPING SETS ((ros_id), (ros_id, staff_id))
), g_part AS (
    SELECT ros_id, staff_id, GROUPING(staff_id) AS whole, sum(m) AS metres,
           range_agg(tstzrange(t1, t2, '[]')) AS inside
      FROM part
     GROUP BY GROUPING SETS ((ros_id), (ros_id, staff_id))
), g_visit AS (
    SELECT tr.ros_id, tr.staff_id, GROUPING(tr.staff_id) AS whole, array_agg(DISTINCT l.grid_id) AS visited
      FROM trk tr
      JOIN ros r ON r.id = tr.ros_id
      JOIN track_grid_stat s ON s.track_id = tr.track_id AND s.length_m > 0
      JOIN leaf l ON l.area_id = r.area_id AND l.grid_id = s.grid_id
     GROUP BY GROUPING SETS ((tr.ros_id), (tr.ros_id, tr.staff_id))
), fig AS (
    SELECT k.ros_id, k.staff_id, k.whole, k.tracks, f.first_seen, f.last_seen,
           coalesce(p.metres, 0) AS metres,
           coalesce((SELECT sum(extract(epoch FROM upper(x) - lower(x))) FROM unnest(p.inside) x), 0) / 60.0
               AS minutes_inside,
           coalesce(v.visited, '{}') AS visited,
           f.first_seen > r.starts + make_interval(secs => CAST(:late_s AS float8)) AS late,
           f.last_seen < r.ends - make_interval(secs => CAST(:early_s AS float8)) AS left_early
      FROM g_trk k
      JOIN ros r ON r.id = k.ros_id
      LEFT JOIN g_fix f ON f.ros_id = k.ros_id AND f.whole = k.whole AND f.staff_id IS NOT DISTINCT FROM k.staff_id
      LEFT JOIN g_part p ON p.ros_id = k.ros_id AND p.whole = k.whole AND p.staff_id IS NOT DISTINCT FROM k.staff_id
      LEFT JOIN g_visit v ON v.ros_id = k.ros_id AND v.whole = k.whole
                         AND v.staff_id IS NOT DISTINCT FROM k.staff_id
), area_leaves AS (
    SELECT area_id, count(*) AS n FROM leaf GROUP BY area_id
), member AS (
    SELECT r.id AS ros_id, m.staff_id, m.role, m.since
      FROM ros r
      JOIN patrol_team_member m ON m.team_id = r.team_id AND m.since <= r.night
                               AND (m.until IS NULL OR m.until > r.night)
), people AS (
    SELECT ros_id, staff_id FROM member
     UNION
    SELECT id, leader_staff_id FROM ros WHERE leader_staff_id IS NOT NULL
     UNION
    SELECT c.roster_id, c.substitute_staff_id
      FROM roster_change c JOIN ros r ON r.id = c.roster_id
     WHERE c.kind = '替班'
     UNION
    SELECT ros_id, staff_id FROM trk WHERE staff_id IS NOT NULL
), person AS (
    SELECT p.ros_id, p.staff_id,
           CASE WHEN p.staff_id = r.leader_staff_id THEN '队长'
                WHEN m.role IS NOT NULL THEN m.role
                WHEN sub.staff_id IS NOT NULL THEN '替班'
                ELSE '队员' END AS role,
           m.since,
           EXISTS (SELECT 1 FROM roster_change c
                    WHERE c.roster_id = p.ros_id AND c.kind = '请假' AND c.staff_id = p.staff_id) AS on_leave,
           rep.substitute_staff_id AS replaced_by, sub.staff_id AS substitute_for,
           own.ros_id IS NOT NULL AS own_tracks,
           CASE WHEN own.ros_id IS NOT NULL THEN own.first_seen ELSE team.first_seen END AS first_seen,
           CASE WHEN own.ros_id IS NOT NULL THEN own.last_seen ELSE team.last_seen END AS last_seen,
           CASE WHEN own.ros_id IS NOT NULL THEN own.minutes_inside ELSE team.minutes_inside END AS minutes_inside,
           CASE WHEN own.ros_id IS NOT NULL THEN own.metres ELSE team.metres END AS metres,
           CASE WHEN own.ros_id IS NOT NULL THEN own.visited ELSE team.visited END AS visited,
           CASE WHEN own.ros_id IS NOT NULL THEN own.late ELSE team.late END AS late,
           CASE WHEN own.ros_id IS NOT NULL THEN own.left_early ELSE team.left_early END AS left_early,
           CASE WHEN own.ros_id IS NOT NULL THEN own.tracks ELSE team.tracks END AS tracks
      FROM people p
      JOIN ros r ON r.id = p.ros_id
      LEFT JOIN member m ON m.ros_id = p.ros_id AND m.staff_id = p.staff_id
      LEFT JOIN LATERAL (SELECT c.staff_id FROM roster_change c
                          WHERE c.roster_id = p.ros_id AND c.kind = '替班' AND c.substitute_staff_id = p.staff_id
                          ORDER BY c.id LIMIT 1) sub ON true
      LEFT JOIN LATERAL (SELECT c.substitute_staff_id FROM roster_change c
                          WHERE c.roster_id = p.ros_id AND c.kind = '替班' AND c.staff_id = p.staff_id
                          ORDER BY c.id LIMIT 1) rep ON true
      LEFT JOIN fig own ON own.ros_id = p.ros_id AND own.whole = 0 AND own.staff_id = p.staff_id
      LEFT JOIN fig team ON team.ros_id = p.ros_id AND team.whole = 0 AND team.staff_id IS NULL
), rows AS (
    SELECT 'team' AS level, r.id AS roster_id, NULL::bigint AS staff_id, NULL::text AS role, NULL::date AS since,
           false AS on_leave, NULL::bigint AS replaced_by, NULL::bigint AS substitute_for, false AS own_tracks,
           coalesce(f.tracks, 0) AS tracks, f.first_seen, f.last_seen, coalesce(f.minutes_inside, 0) AS minutes_inside,
           coalesce(f.metres, 0) AS metres, coalesce(f.visited, '{}') AS visited,
           coalesce(f.late, false) AS late, coalesce(f.left_early, false) AS left_early
      FROM ros r
      LEFT JOIN fig f ON f.ros_id = r.id AND f.whole = 1
    UNION ALL
    SELECT 'person', p.ros_id, p.staff_id, p.role, p.since, p.on_leave, p.replaced_by, p.substitute_for,
           p.own_tracks, coalesce(p.tracks, 0), p.first_seen, p.last_seen, coalesce(p.minutes_inside, 0),
           coalesce(p.metres, 0), coalesce(p.visited, '{}'), coalesce(p.late, false), coalesce(p.left_early, false)
      FROM person p
)
SELECT x.level, r.id AS roster_id, r.night, r.shift, r.starts, r.ends, r.team_code, r.team_name, r.unit,
       r.source, r.note, r.area_code, r.area_name,
       ld.name AS leader_name, dc.name AS duty_cadre_name, cs.name AS community_staff_name,
       x.staff_id, s.code AS staff_code, s.name AS staff_name, x.role, x.since, x.on_leave,
       rb.code AS replaced_by_code, rb.name AS replaced_by_name,
       sf.code AS substitute_for_code, sf.name AS substitute_for_name, x.own_tracks,
       x.tracks::int AS tracks,
       CASE WHEN x.first_seen IS NULL THEN '缺勤' WHEN x.late THEN '迟到' WHEN x.left_early THEN '早退'
            ELSE '出勤' END AS status,
       x.late, x.left_early, x.first_seen, x.last_seen,
       x.minutes_inside::float8 AS minutes_inside, x.metres::float8 AS metres,
       al.n::int AS leaf_total, cardinality(x.visited)::int AS visited,
       coalesce((SELECT array_agg(l.code ORDER BY l.code) FROM leaf l
                  WHERE l.area_id = r.area_id AND l.grid_id <> ALL (x.visited)), '{}') AS unvisited,
       coalesce((SELECT array_agg(l.name ORDER BY l.code) FROM leaf l
                  WHERE l.area_id = r.area_id AND l.grid_id <> ALL (x.visited)), '{}') AS unvisited_names,
       x.level = 'person' AND x.first_seen IS NOT NULL AND NOT x.on_leave AND x.replaced_by IS NULL
           AND (x.since IS NULL OR r.night >= x.since + make_interval(months => CAST(:probation AS int)))
           AS eligible
  FROM rows x
  JOIN ros r ON r.id = x.roster_id
  LEFT JOIN area_leaves al ON al.area_id = r.area_id
  LEFT JOIN staff s ON s.id = x.staff_id
  LEFT JOIN staff ld ON ld.id = r.leader_staff_id
  LEFT JOIN staff dc ON dc.id = r.duty_cadre_staff_id
  LEFT JOIN staff cs ON cs.id = r.community_staff_id
  LEFT JOIN staff rb ON rb.id = x.replaced_by
  LEFT JOIN staff sf ON sf.id = x.substitute_for
 ORDER BY r.night, r.starts, r.team_code, x.level DESC,
          CASE x.role WHEN '队长' THEN 0 WHEN '队员' THEN 1 ELSE 2 END, s.code
