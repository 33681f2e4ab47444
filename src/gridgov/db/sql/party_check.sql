-- The compliance check of Party building on the grid (gridgov.party.check), as of a day: every statement covers
-- every grid and organisation under :root at once. Parameters: :root (a grid identity id; NULL = every street),
-- :as_of (timestamptz: the end of the day checked), :day (that date).
-- Each statement first builds the same scope with {scope} (gridgov.party.check.SCOPE): ``grids`` (identity id,
-- the row in force, code, name, level) under :root as of :as_of; ``orgs``, the organisations in force built on
-- them, belonging to a unit there, or below such an organisation; ``homes``, the households in force in those
-- grids; ``people``, the Party members in force living in them (identity id, code, grid code, member type,
-- volunteer, birth year). Everything joins on identities (gridgov.history), so history rows answer for the past.

-- @org_members: each organisation in scope: its kind, the members of it and of every organisation below it on
-- :day, the volunteers and older members among them (age on :day from the birth year), and how many links to
-- households they have
{scope},
tree AS (
    SELECT o.id AS top, o.id AS org FROM orgs o
    UNION ALL
    SELECT t.top, c.id FROM tree t JOIN orgs c ON c.parent_id = t.org
), members AS (
    SELECT DISTINCT t.top, m.person_id
      FROM tree t JOIN party_membership m ON m.org_id = t.org
     WHERE m.since <= :day AND (m.until IS NULL OR m.until > :day)
)
SELECT o.id, o.code, o.name, o.kind, o.form, o.founded_on,
       count(p.id) AS members,
       count(p.id) FILTER (WHERE p.is_volunteer) AS volunteers,
       count(p.id) FILTER (WHERE p.birth_year IS NOT NULL
                             AND extract(year FROM CAST(:day AS date)) - p.birth_year >= :ageing_age) AS older,
       count(p.id) FILTER (WHERE p.birth_year IS NOT NULL) AS with_age,
       count(p.id) FILTER (WHERE p.birth_year IS NOT NULL
                             AND extract(year FROM CAST(:day AS date)) - p.birth_year < 35) AS young,
       count(p.id) FILTER (WHERE p.birth_year IS NOT NULL
                             AND extract(year FROM CAST(:day AS date)) - p.birth_year BETWEEN 35 AND 59) AS middle,
       count(p.id) FILTER (WHERE p.birth_year IS NOT NULL
                             AND extract(year FROM CAST(:day AS date)) - p.birth_year >= 60) AS sixty
  FROM orgs o
  LEFT JOIN members mb ON mb.top = o.id
  LEFT JOIN people p ON p.id = mb.person_id
 GROUP BY o.id, o.code, o.name, o.kind, o.form, o.founded_on
 ORDER BY o.code;

-- @grids_without_branch: compounds no organisation in force is built on (支部建在网格上)
{scope}
SELECT g.code, g.name FROM grids g
 WHERE g.level = 'compound'
   AND NOT EXISTS (SELECT 1 FROM orgs o WHERE g.id = ANY (o.grid_ids))
 ORDER BY g.code;

-- @duty_cover: each compound: its area, the part no 党员责任区 in force covers (m², and the gaps as GeoJSON)
{scope},
cover AS (
    SELECT g.id, ST_Union(ST_Intersection(a.geom, gg.geom)) AS covered
      FROM grids g JOIN grid gg ON gg.id = g.row_id
      JOIN party_duty_area a ON a.geom && gg.geom AND ST_Intersects(a.geom, gg.geom)
       AND a.valid_from <= :as_of AND (a.valid_to IS NULL OR a.valid_to > :as_of)
     GROUP BY g.id
), gaps AS (
    SELECT g.code, g.name, gg.geom,
           CASE WHEN c.covered IS NULL THEN gg.geom
                ELSE ST_CollectionExtract(ST_Difference(gg.geom, c.covered), 3) END AS gap
      FROM grids g JOIN grid gg ON gg.id = g.row_id LEFT JOIN cover c ON c.id = g.id
     WHERE g.level = 'compound'
)
SELECT code, name, ST_Area(geom::geography) AS area_m2,
       coalesce(ST_Area(gap::geography), 0) AS gap_m2,
       CASE WHEN gap IS NULL OR ST_IsEmpty(gap) THEN NULL ELSE ST_AsGeoJSON(gap, 7) END AS gap_geojson
  FROM gaps ORDER BY code;

-- @contacts: each Party member living in the scope's grids: how many households they link (live households)
{scope}
SELECT p.code, p.grid_code, count(h.id) AS links
  FROM people p
  LEFT JOIN party_contact c ON c.person_id = p.id AND c.since <= :day
  LEFT JOIN homes h ON h.id = c.household_id
 GROUP BY p.code, p.grid_code
 ORDER BY p.grid_code, p.code;

-- @unlinked_households: per compound: households, and those no member links
{scope}
SELECT g.code, g.name, count(h.id) AS households,
       count(h.id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM party_contact c
                                              WHERE c.household_id = h.id AND c.since <= :day)) AS unlinked
  FROM grids g JOIN homes h ON h.grid_id = g.id
 WHERE g.level = 'compound'
 GROUP BY g.code, g.name
 ORDER BY g.code;

-- @members_without_org: Party members living in the scope's grids who belong to no organisation on :day
{scope}
SELECT p.code, p.grid_code
  FROM people p
 WHERE NOT EXISTS (SELECT 1 FROM party_membership m WHERE m.person_id = p.id AND m.since <= :day
                      AND (m.until IS NULL OR m.until > :day))
 ORDER BY p.grid_code, p.code;

-- @registers: 在职 members not reported to the community, and 流动 members without a 活动证
{scope}
SELECT p.code, p.grid_code, p.member_type, r.reported_on, r.flow, r.certificate_no
  FROM people p
  LEFT JOIN party_register r ON r.person_id = p.id
 WHERE p.member_type IN ('在职', '流动') OR r.flow IS NOT NULL
 ORDER BY p.grid_code, p.code;

-- @teams: volunteer teams in force on the scope's grids: people on :day, and the longest activity of the month
-- [:month_start, :month_end)
{scope}
SELECT t.code, t.name, g.code AS grid_code,
       (SELECT count(*) FROM volunteer_team_member m WHERE m.team_id = t.id AND m.since <= :day
           AND (m.until IS NULL OR m.until > :day)) AS people,
       (SELECT max(a.hours) FROM volunteer_activity a WHERE a.team_id = t.id
           AND a.day >= :month_start AND a.day < :month_end) AS longest
  FROM volunteer_team t JOIN grids g ON g.id = t.grid_id
 WHERE t.valid_from <= :as_of AND (t.valid_to IS NULL OR t.valid_to > :as_of)
 ORDER BY t.code;

-- @meetings: per organisation in scope and meeting kind held: the last one on or before :day (not cancelled)
{scope}
SELECT o.code, m.kind, max(m.held_on) AS last_held
  FROM orgs o JOIN party_meeting m ON m.org_id = o.id AND m.held_on <= :day AND m.cancelled_at IS NULL
 GROUP BY o.code, m.kind;
