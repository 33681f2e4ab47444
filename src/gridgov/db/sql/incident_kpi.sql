-- Incident figures (事件考核, gridgov.incidents.kpi): one pass over the cases of the live grids under :root (NULL:
-- every live grid), each case counted at its grid and at every grid above it, for one or two periods
-- (:starts/:ends/:as_ofs, element 1 the period asked, element 2 the same period last year). A period's moment
-- (:as_ofs) is the only clock: events after it do not exist for that period. The words come from gridgov.vocab
-- (:closed, :parked, :ended, :rework, :imported); the steps a status waits for and the actions that do them come
-- from gridgov.incidents.workflow (:done_status, :done_action, :done_step).
--
-- Working time: :cum[k] is the working time (seconds) of the calendar days before day :first + k - 1, :working[k]
-- whether that day is worked, :day_start/:day_len the working hours (seconds after midnight, seconds long), all
-- precomputed from gridgov.workdays.WorkCalendar. The working-time clock at a moment is
-- cum[day] + (worked that day: the part of the working hours already past); a step's working time is the clock
-- at its end minus the clock at its start (the same sum WorkCalendar.between makes day by day).

-- @figures: the figures of every grid of the subtree (or of :level) for each period
WITH RECURSIVE tree AS (
    SELECT g.id, g.parent_id FROM grid g
     WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
       AND (g.id = CAST(:root AS bigint) OR CAST(:root AS bigint) IS NULL)
    UNION
    SELECT g.id, g.parent_id FROM grid g JOIN tree t ON g.parent_id = t.id
     WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
), anc(leaf, anc) AS (  -- each grid is its own ancestor
    SELECT id, id FROM tree
    UNION ALL
    SELECT a.leaf, t.parent_id FROM anc a JOIN tree t ON t.id = a.anc JOIN tree p ON p.id = t.parent_id
), per AS (
    SELECT CAST(u.k AS int) AS p, u.s, u.e, u.t
      FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]), CAST(:as_ofs AS timestamptz[]))
           WITH ORDINALITY AS u(s, e, t, k)
), clock AS (
    SELECT CAST(:cum AS float8[]) AS cum, CAST(:working AS boolean[]) AS working
), cs AS (
    SELECT i.id, i.grid_id, i.reported_at, i.closed_at FROM incident i WHERE i.grid_id IN (SELECT id FROM tree)
), raw AS (  -- a case imported as closed (one 导入 step) closed when its record says, not at its report
    SELECT e.incident_id AS cid, cs.grid_id AS gid, e.id, e.action, e.from_status, e.to_status, e.to_level, e.deadline, e.overdue,
           CASE WHEN e.action = :imported AND e.to_status = :closed AND cs.closed_at > e.at THEN cs.closed_at
                ELSE e.at END AS at
      FROM incident_event e JOIN cs ON cs.id = e.incident_id
), ev AS (  -- the steps each period sees, with the working-time clock at each
    SELECT per.p, r.*,
           c.cum[d.k] + CASE WHEN c.working[d.k]
                             THEN least(greatest(CAST(extract(epoch FROM d.tod) AS float8)
                                                 - CAST(:day_start AS float8), 0), CAST(:day_len AS float8))
                             ELSE 0 END AS w
      FROM raw r JOIN per ON r.at <= per.t
     CROSS JOIN clock c
     CROSS JOIN LATERAL (SELECT CAST(r.at AT TIME ZONE CAST(:tz AS text) AS date) - CAST(:first AS date) + 1 AS k,
                                CAST(r.at AT TIME ZONE CAST(:tz AS text) AS time) AS tod) d
), state AS (  -- each case as it stood at the period's moment: its last step
    SELECT DISTINCT ON (p, cid) p, cid, to_status, deadline FROM ev ORDER BY p, cid, at DESC, id DESC
), closes AS (  -- the last close of each case within the period, with its level
    SELECT DISTINCT ON (ev.p, ev.cid) ev.p, ev.cid, ev.at, ev.id, ev.to_level
      FROM ev JOIN per ON per.p = ev.p
     WHERE ev.to_status = :closed AND ev.from_status IS DISTINCT FROM :closed
       AND (per.s IS NULL OR ev.at >= per.s) AND (per.e IS NULL OR ev.at < per.e)
     ORDER BY ev.p, ev.cid, ev.at DESC, ev.id DESC
), first_late AS (  -- each case's first step marked overdue (the step it ended was late)
    SELECT p, cid, min(at) AS at FROM ev WHERE overdue GROUP BY p, cid
), seq AS (  -- where a status begins (the step it waits for starts): a step changing the status
    SELECT ev.*, CASE WHEN ev.from_status IS DISTINCT FROM ev.to_status THEN ev.w END AS begins
      FROM ev
), runs AS (
    SELECT seq.*, max(seq.begins) OVER (PARTITION BY seq.p, seq.cid ORDER BY seq.at, seq.id) AS run_began
      FROM seq
), spells AS (  -- each step with the status it ended and when that status began
    SELECT runs.*, lag(runs.run_began) OVER (PARTITION BY runs.p, runs.cid ORDER BY runs.at, runs.id) AS began
      FROM runs
), done AS (  -- the steps done in the period (受理 by 立案 or 不予立案, 处置 by 处置 …) and their working time
    SELECT s.p, s.gid, d.step, (s.w - s.began) / CAST(:day_len AS float8) AS days
      FROM spells s
      JOIN per ON per.p = s.p AND (per.s IS NULL OR s.at >= per.s) AND (per.e IS NULL OR s.at < per.e)
      JOIN unnest(CAST(:done_status AS text[]), CAST(:done_action AS text[]), CAST(:done_step AS text[]))
           AS d(status, action, step) ON d.status = s.from_status AND d.action = s.action
     WHERE s.began IS NOT NULL
), reworks AS (
    SELECT ev.p, ev.cid, count(*) AS n
      FROM ev JOIN per ON per.p = ev.p
     WHERE ev.action = :rework AND (per.s IS NULL OR ev.at >= per.s) AND (per.e IS NULL OR ev.at < per.e)
     GROUP BY ev.p, ev.cid
), facts AS (  -- one line per case and period
    SELECT per.p, cs.id AS cid, cs.grid_id,
           cs.reported_at <= per.t AND (per.s IS NULL OR cs.reported_at >= per.s)
               AND (per.e IS NULL OR cs.reported_at < per.e) AS reported,
           c.cid IS NOT NULL AS closed,
           c.cid IS NOT NULL AND (fl.at IS NULL OR fl.at > c.at) AS on_time,
           c.to_level AS closed_level,
           st.to_status <> ALL (CAST(:ended AS text[])) AND st.deadline < per.t AS overdue_now,
           st.to_status = :parked AS parked,
           coalesce(rw.n, 0) AS rework
      FROM cs CROSS JOIN per
      LEFT JOIN state st ON st.p = per.p AND st.cid = cs.id
      LEFT JOIN closes c ON c.p = per.p AND c.cid = cs.id
      LEFT JOIN first_late fl ON fl.p = per.p AND fl.cid = cs.id
      LEFT JOIN reworks rw ON rw.p = per.p AND rw.cid = cs.id
), sums AS (
    SELECT a.anc AS gid, f.p,
           count(*) FILTER (WHERE f.reported) AS reported,
           count(*) FILTER (WHERE f.closed) AS closed,
           count(*) FILTER (WHERE f.on_time) AS closed_on_time,
           count(*) FILTER (WHERE f.overdue_now) AS overdue_now,
           coalesce(sum(f.rework), 0) AS rework,
           count(*) FILTER (WHERE f.parked) AS parked,
           count(*) FILTER (WHERE f.closed AND f.closed_level = (CAST(:levels AS text[]))[1]) AS closed_at_grid,
           count(*) FILTER (WHERE f.closed AND f.closed_level = ANY((CAST(:levels AS text[]))[1:2]))
               AS closed_in_community
      FROM facts f JOIN anc a ON a.leaf = f.grid_id
     GROUP BY a.anc, f.p
), steps AS (
    SELECT x.gid, x.p, jsonb_object_agg(x.step, jsonb_build_array(x.days, x.n)) AS avg_days
      FROM (SELECT a.anc AS gid, d.p, d.step, avg(d.days) AS days, count(*) AS n
              FROM done d JOIN anc a ON a.leaf = d.gid
             GROUP BY a.anc, d.p, d.step) x
     GROUP BY x.gid, x.p
), since AS (  -- whether the area has any case reported by the end of each period (else: no data to compare)
    SELECT per.p, EXISTS (SELECT 1 FROM cs WHERE cs.reported_at <= per.t
                                             AND (per.e IS NULL OR cs.reported_at < per.e)) AS has_data
      FROM per
)
SELECT g.id AS grid_id, g.code, g.name, g.level, pg.code AS parent_code, per.p, since.has_data,
       coalesce(s.reported, 0) AS reported, coalesce(s.closed, 0) AS closed,
       coalesce(s.closed_on_time, 0) AS closed_on_time, coalesce(s.overdue_now, 0) AS overdue_now,
       coalesce(s.rework, 0) AS rework, coalesce(s.parked, 0) AS parked,
       coalesce(s.closed_at_grid, 0) AS closed_at_grid, coalesce(s.closed_in_community, 0) AS closed_in_community,
       coalesce(st.avg_days, '{}') AS avg_days
  FROM tree t JOIN grid g ON g.id = t.id
  CROSS JOIN per
  JOIN since ON since.p = per.p
  LEFT JOIN grid pg ON pg.id = g.parent_id
  LEFT JOIN sums s ON s.gid = t.id AND s.p = per.p
  LEFT JOIN steps st ON st.gid = t.id AND st.p = per.p
 WHERE CAST(:level AS text) IS NULL OR g.level = CAST(:level AS text)
 ORDER BY array_position(CAST(:grid_levels AS text[]), CAST(g.level AS text)), g.code, per.p;

-- @first_event: the earliest step on record (where the working-time clock must start)
SELECT min(at) FROM incident_event;

-- @hotspots: cases per leaf grid of :leaf_ids reported in the local days [:date_from, :date_to] (either end open
-- when NULL), counted in each time window of the local day (:w_names, from :w_from to :w_to; a window whose end is
-- not after its start runs over midnight, and 00:00–00:00 is the whole day)
WITH c AS (
    SELECT i.grid_id, CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS time) AS tod
      FROM incident i
     WHERE i.grid_id = ANY (CAST(:leaf_ids AS bigint[]))
       AND (CAST(:date_from AS date) IS NULL
            OR i.reported_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE CAST(:tz AS text))
       AND (CAST(:date_to AS date) IS NULL
            OR i.reported_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE CAST(:tz AS text))
)
SELECT c.grid_id, w.name, count(*) AS n
  FROM c JOIN unnest(CAST(:w_names AS text[]), CAST(:w_from AS time[]), CAST(:w_to AS time[])) AS w(name, a, b)
    ON CASE WHEN w.a < w.b THEN c.tod >= w.a AND c.tod < w.b ELSE c.tod >= w.a OR c.tod < w.b END
 GROUP BY c.grid_id, w.name;
