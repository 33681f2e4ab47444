-- The ledger (网格台帐) of every ledger grid in the subtree (in_tree): entities counted at their leaf and rolled
-- up through the hierarchy (each grid is its own ancestor), so a parent always equals the sum of its children.
-- The words come as parameters from gridgov.vocab: :hh_kinds and :member_types in vocabulary order (the
-- ledger's columns hh_resident … hh_shop and pm_employed … pm_resident follow that order), :closed.
WITH RECURSIVE anc(leaf, anc) AS (
    SELECT gid, gid FROM ledger_grid WHERE in_tree
    UNION ALL
    SELECT a.leaf, p.gid FROM anc a JOIN ledger_grid l ON l.gid = a.anc JOIN ledger_grid p ON p.gid = l.parent_gid
     WHERE p.in_tree
), hh AS (
    SELECT gid, count(*) AS households,
           count(*) FILTER (WHERE kind = (CAST(:hh_kinds AS text[]))[1]) AS hh_resident,
           count(*) FILTER (WHERE kind = (CAST(:hh_kinds AS text[]))[2]) AS hh_rented,
           count(*) FILTER (WHERE kind = (CAST(:hh_kinds AS text[]))[3]) AS hh_vacant,
           count(*) FILTER (WHERE kind = (CAST(:hh_kinds AS text[]))[4]) AS hh_shop
      FROM ledger_hh WHERE gid IS NOT NULL GROUP BY gid
), pp AS (
    SELECT h.gid, count(*) AS persons,
           count(*) FILTER (WHERE p.is_party_member) AS party_members,
           count(*) FILTER (WHERE p.member_type = (CAST(:member_types AS text[]))[1]) AS pm_employed,
           count(*) FILTER (WHERE p.member_type = (CAST(:member_types AS text[]))[2]) AS pm_retired,
           count(*) FILTER (WHERE p.member_type = (CAST(:member_types AS text[]))[3]) AS pm_mobile,
           count(*) FILTER (WHERE p.member_type = (CAST(:member_types AS text[]))[4]) AS pm_unemployed,
           count(*) FILTER (WHERE p.member_type = (CAST(:member_types AS text[]))[5]) AS pm_resident,
           count(*) FILTER (WHERE p.is_resident_rep) AS resident_reps,
           count(*) FILTER (WHERE p.is_volunteer) AS volunteers,
           count(*) FILTER (WHERE p.is_volunteer AND p.is_party_member) AS party_volunteers
      FROM person p JOIN ledger_hh h ON h.id = p.household_id
     WHERE h.gid IS NOT NULL
       AND (CASE WHEN CAST(:as_of AS timestamptz) IS NULL THEN p.valid_to IS NULL
                 ELSE p.valid_from <= CAST(:as_of AS timestamptz)
                      AND (p.valid_to IS NULL OR p.valid_to > CAST(:as_of AS timestamptz)) END)
     GROUP BY h.gid
), bb AS (
    SELECT gid, count(*) AS buildings FROM ledger_bd WHERE gid IS NOT NULL GROUP BY gid
), ev AS (
    SELECT gid, count(*) FILTER (WHERE status <> :closed) AS incidents_open,
           count(*) FILTER (WHERE status = :closed) AS incidents_closed
      FROM ledger_ev WHERE gid IS NOT NULL GROUP BY gid
), leaf_totals AS (
    SELECT l.gid,
           coalesce(hh.households, 0) AS households, coalesce(hh.hh_resident, 0) AS hh_resident,
           coalesce(hh.hh_rented, 0) AS hh_rented, coalesce(hh.hh_vacant, 0) AS hh_vacant,
           coalesce(hh.hh_shop, 0) AS hh_shop, coalesce(pp.persons, 0) AS persons,
           coalesce(pp.party_members, 0) AS party_members, coalesce(pp.pm_employed, 0) AS pm_employed,
           coalesce(pp.pm_retired, 0) AS pm_retired, coalesce(pp.pm_mobile, 0) AS pm_mobile,
           coalesce(pp.pm_unemployed, 0) AS pm_unemployed, coalesce(pp.pm_resident, 0) AS pm_resident,
           coalesce(pp.resident_reps, 0) AS resident_reps, coalesce(pp.volunteers, 0) AS volunteers,
           coalesce(pp.party_volunteers, 0) AS party_volunteers, coalesce(bb.buildings, 0) AS buildings,
           coalesce(ev.incidents_open, 0) AS incidents_open, coalesce(ev.incidents_closed, 0) AS incidents_closed
      FROM ledger_grid l
      LEFT JOIN hh ON hh.gid = l.gid LEFT JOIN pp ON pp.gid = l.gid
      LEFT JOIN bb ON bb.gid = l.gid LEFT JOIN ev ON ev.gid = l.gid
     WHERE l.in_tree
), cats AS (
    SELECT c.gid, jsonb_object_agg(c.category, c.n ORDER BY c.category) AS by_category
      FROM (SELECT a.anc AS gid, e.category, count(*) AS n
              FROM ledger_ev e JOIN anc a ON a.leaf = e.gid GROUP BY a.anc, e.category) c
     GROUP BY c.gid
), personal AS (  -- grids whose private staff roles the caller may see (:personal_scope and below)
    SELECT gid FROM ledger_grid WHERE gid = CAST(:personal_scope AS bigint)
    UNION ALL
    SELECT l.gid FROM ledger_grid l JOIN personal ON l.parent_gid = personal.gid
), roster AS (  -- the roles in force on :on_day (the as-of day, or today)
    SELECT r.grid_id AS gid,
           string_agg(r.role || '：' || s.name || coalesce('（' || s.phone || '）', ''), '；'
                      ORDER BY array_position(CAST(:role_order AS text[]), r.role), s.name) AS staff
      FROM grid_role r JOIN staff s ON s.id = r.staff_id
     WHERE r.grid_id IN (SELECT gid FROM ledger_grid WHERE in_tree)
       AND r.since <= CAST(:on_day AS date) AND (r.until IS NULL OR r.until > CAST(:on_day AS date))
       AND (r.role = ANY(CAST(:public_roles AS text[])) OR CAST(:personal_all AS boolean)
            OR r.grid_id IN (SELECT gid FROM personal))
     GROUP BY r.grid_id
)
SELECT g.gid AS grid_id, g.code, g.name, g.level, p.code AS parent_code,
       sum(t.households)::bigint AS households, sum(t.hh_resident)::bigint AS hh_resident,
       sum(t.hh_rented)::bigint AS hh_rented, sum(t.hh_vacant)::bigint AS hh_vacant, sum(t.hh_shop)::bigint AS hh_shop,
       sum(t.persons)::bigint AS persons, sum(t.party_members)::bigint AS party_members,
       sum(t.pm_employed)::bigint AS pm_employed, sum(t.pm_retired)::bigint AS pm_retired,
       sum(t.pm_mobile)::bigint AS pm_mobile, sum(t.pm_unemployed)::bigint AS pm_unemployed,
       sum(t.pm_resident)::bigint AS pm_resident, sum(t.resident_reps)::bigint AS resident_reps,
       sum(t.volunteers)::bigint AS volunteers, sum(t.party_volunteers)::bigint AS party_volunteers,
       sum(t.buildings)::bigint AS buildings, sum(t.incidents_open)::bigint AS incidents_open,
       sum(t.incidents_closed)::bigint AS incidents_closed,
       coalesce(min(c.by_category::text), '{}')::jsonb AS incidents_by_category,
       min(r.staff) AS staff
  FROM ledger_grid g
  JOIN anc a ON a.anc = g.gid
  JOIN leaf_totals t ON t.gid = a.leaf
  LEFT JOIN ledger_grid p ON p.gid = g.parent_gid
  LEFT JOIN cats c ON c.gid = g.gid
  LEFT JOIN roster r ON r.gid = g.gid
 GROUP BY g.gid, g.code, g.name, g.level, p.code
 ORDER BY g.code;
