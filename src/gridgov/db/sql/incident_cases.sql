-- Statements of the incident loop (gridgov.incidents.cases). Levels rank 网格 < 社区 < 街道 by their place in
-- :levels (gridgov.vocab.INCIDENT_LEVELS); :ended are the statuses nothing waits on.

-- @leaf: the live leaf grid of a point by the boundary rule (migration 0003), with its code
SELECT g.id, g.code FROM grid g
 WHERE g.id = gridgov_leaf_for_point(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326));

-- @next_code: the next case code of a local day: E + YYYYMMDD + a 4-digit serial (more digits past 9999)
SELECT 'E' || :day || lpad(CAST(coalesce(max(CAST(substr(code, 10) AS int)), 0) + 1 AS text), 4, '0')
  FROM incident WHERE code ~ ('^E' || :day || '[0-9]{4,}$');

-- @default_staff: who a case is dispatched to by default: the holder of the category's role (or 网格员) in force
-- on :day at the case's grid, else at the nearest grid above it; the first by staff code
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM grid WHERE id = :grid_id
    UNION ALL
    SELECT g.id, g.parent_id, up.depth + 1 FROM grid g JOIN up ON g.id = up.parent_id
), wanted AS (
    SELECT coalesce((SELECT staff_role FROM incident_dispatch_rule WHERE category = :category), :fallback) AS role
)
SELECT s.id, s.code, s.name, r.role
  FROM up JOIN grid_role r ON r.grid_id = up.id
  JOIN staff s ON s.id = r.staff_id AND s.valid_to IS NULL
 WHERE r.since <= CAST(:day AS date) AND (r.until IS NULL OR r.until > CAST(:day AS date))
   AND r.role IN ((SELECT role FROM wanted), :fallback)
 ORDER BY up.depth, (r.role = (SELECT role FROM wanted)) DESC, s.code
 LIMIT 1;

-- @lock: a case's state, locked for the step about to be taken
SELECT i.id, i.code, i.status, i.level, i.grid_id, i.category, i.urgency, i.assignee_staff_id, i.deadline,
       i.step_started_at, i.version, i.closed_at,
       (SELECT e.user_id FROM incident_event e WHERE e.incident_id = i.id AND e.action = '处置'
         ORDER BY e.at DESC, e.id DESC LIMIT 1) AS handled_by
  FROM incident i WHERE i.id = :id
   FOR UPDATE OF i;

-- @apply: the case after a step
UPDATE incident
   SET status = CAST(:status AS text), level = :level, assignee_staff_id = :assignee, step_started_at = :now,
       deadline = :deadline, review_on = :review_on, version = version + 1,
       closed_at = CASE WHEN status = CAST(:status AS text) THEN closed_at
                        WHEN CAST(:status AS text) = '结案' THEN CAST(:now AS timestamptz)
                        WHEN status = '结案' THEN NULL ELSE closed_at END
 WHERE id = :id;

-- @record: a step of the timeline
INSERT INTO incident_event (incident_id, at, action, from_status, to_status, from_level, to_level, actor, user_id,
                            staff_id, note, deadline, overdue, review_on)
VALUES (:id, :now, :action, :from_status, :to_status, :from_level, :to_level, :actor, :user_id, :staff_id, :note,
        :deadline, :overdue, :review_on)
RETURNING id;

-- @cases: cases under the grid :root (NULL: all), in one inbox box or filtered, soonest deadline first
WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE id = :root
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id AND g.valid_to IS NULL AND g.lineage_id IS NULL
), c AS (
    SELECT i.*, array_position(CAST(:levels AS text[]), i.level) AS rank,
           coalesce(i.deadline < :now AND i.status <> ALL (CAST(:ended AS text[])), false) AS overdue
      FROM incident i
     WHERE (CAST(:root AS bigint) IS NULL OR i.grid_id IN (SELECT id FROM sub))
)
SELECT c.id, c.code, c.category, c.subcategory, c.status, c.level, c.urgency, c.source, c.reported_at,
       c.deadline, c.step_started_at, c.closed_at, c.review_on, c.version, c.overdue, c.address,
       ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, g.code AS grid_code, g.name AS grid_name,
       s.code AS assignee_code, s.name AS assignee_name, count(*) OVER () AS total
  FROM c
  LEFT JOIN grid g ON g.id = c.grid_id
  LEFT JOIN staff s ON s.id = c.assignee_staff_id AND s.valid_to IS NULL
 WHERE CASE CAST(:box AS text)
         WHEN 'mine' THEN c.status = '派遣' AND c.assignee_staff_id = CAST(:staff_id AS bigint)
         WHEN 'level' THEN c.rank = :my_rank
              AND (c.status IN ('上报', '立案', '核查') OR (c.status = '派遣' AND c.assignee_staff_id IS NULL)
                   OR (c.status = '挂账' AND c.review_on <= CAST(:today AS date)))
         WHEN 'verify' THEN c.status = '处置' AND c.rank <= :my_rank
              AND NOT EXISTS (SELECT 1 FROM incident_event e WHERE e.incident_id = c.id AND e.action = '处置'
                                 AND e.user_id = CAST(:user_id AS bigint)
                                 AND e.at = (SELECT max(x.at) FROM incident_event x
                                              WHERE x.incident_id = c.id AND x.action = '处置'))
         WHEN 'overdue' THEN c.overdue AND c.rank <= :my_rank
         ELSE (CAST(:status AS text) IS NULL OR c.status = :status)
              AND (CAST(:level AS text) IS NULL OR c.level = :level)
              AND (CAST(:category AS text) IS NULL OR c.category = :category)
              AND (CAST(:date_from AS timestamptz) IS NULL OR c.reported_at >= :date_from)
              AND (CAST(:date_to AS timestamptz) IS NULL OR c.reported_at < :date_to)
              AND (CAST(:open_only AS boolean) IS NOT TRUE OR c.status <> ALL (CAST(:ended AS text[])))
       END
 ORDER BY c.overdue DESC, c.deadline NULLS LAST, c.reported_at DESC, c.id
 LIMIT :limit OFFSET :offset;

-- @detail: one case with its grid's codes up to the street and whom it is dispatched to
SELECT i.id, i.code, i.category, i.subcategory, i.description, i.status, i.level, i.urgency, i.source, i.address,
       i.reporter_name, i.reporter_phone, i.reported_by, i.reported_at, i.closed_at, i.deadline, i.step_started_at,
       i.review_on, i.version, i.grid_id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
       coalesce(i.deadline < :now AND i.status <> ALL (CAST(:ended AS text[])), false) AS overdue,
       g.code AS grid_code, g.name AS grid_name, s.code AS assignee_code, s.name AS assignee_name,
       s.phone AS assignee_phone, s.id AS assignee_id
  FROM incident i
  LEFT JOIN grid g ON g.id = i.grid_id
  LEFT JOIN staff s ON s.id = i.assignee_staff_id AND s.valid_to IS NULL
 WHERE i.id = :id;

-- @timeline: the steps of a case in order, with the names of the staff and users in them
SELECT e.id, e.at, e.action, e.from_status, e.to_status, e.from_level, e.to_level, e.actor, e.note, e.deadline,
       e.overdue, e.review_on, s.code AS staff_code, s.name AS staff_name,
       coalesce(u.display_name, u.username) AS user_name, e.user_id
  FROM incident_event e
  LEFT JOIN staff s ON s.id = e.staff_id AND s.valid_to IS NULL
  LEFT JOIN app_user u ON u.id = e.user_id
 WHERE e.incident_id = :id
 ORDER BY e.at, e.id;

-- @photos: the photos of a case, by step
SELECT p.id, p.event_id, p.filename, p.content_type, p.width, p.height, e.action
  FROM incident_photo p JOIN incident_event e ON e.id = p.event_id
 WHERE p.incident_id = :id
 ORDER BY e.at, p.id;
