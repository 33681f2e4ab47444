-- Per live grid at every level: households by kind, persons, Party members, representatives,
-- volunteers, buildings. Entities are counted at their leaf grid and rolled up through the
-- hierarchy (each grid is its own ancestor), so a parent always equals the sum of its children.
WITH RECURSIVE live AS (
    SELECT id, parent_id FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL
), anc(leaf_id, anc_id) AS (
    SELECT id, id FROM live
    UNION ALL
    SELECT a.leaf_id, l.parent_id FROM anc a JOIN live l ON l.id = a.anc_id WHERE l.parent_id IS NOT NULL
), hh AS (
    SELECT grid_id,
           count(*) AS households,
           count(*) FILTER (WHERE kind = '常住户') AS hh_resident,
           count(*) FILTER (WHERE kind = '租房户') AS hh_rented,
           count(*) FILTER (WHERE kind = '空房户') AS hh_vacant,
           count(*) FILTER (WHERE kind = '底商') AS hh_shop
      FROM household WHERE grid_id IS NOT NULL GROUP BY grid_id
), pp AS (
    SELECT h.grid_id,
           count(*) AS persons,
           count(*) FILTER (WHERE p.is_party_member) AS party_members,
           count(*) FILTER (WHERE p.is_resident_rep) AS resident_reps,
           count(*) FILTER (WHERE p.is_volunteer) AS volunteers
      FROM person p JOIN household h ON h.id = p.household_id
     WHERE h.grid_id IS NOT NULL GROUP BY h.grid_id
), bb AS (
    SELECT grid_id, count(*) AS buildings FROM building WHERE grid_id IS NOT NULL GROUP BY grid_id
)
SELECT a.anc_id AS grid_id,
       coalesce(sum(hh.households), 0)::bigint AS households,
       coalesce(sum(hh.hh_resident), 0)::bigint AS hh_resident,
       coalesce(sum(hh.hh_rented), 0)::bigint AS hh_rented,
       coalesce(sum(hh.hh_vacant), 0)::bigint AS hh_vacant,
       coalesce(sum(hh.hh_shop), 0)::bigint AS hh_shop,
       coalesce(sum(pp.persons), 0)::bigint AS persons,
       coalesce(sum(pp.party_members), 0)::bigint AS party_members,
       coalesce(sum(pp.resident_reps), 0)::bigint AS resident_reps,
       coalesce(sum(pp.volunteers), 0)::bigint AS volunteers,
       coalesce(sum(bb.buildings), 0)::bigint AS buildings
  FROM anc a
  LEFT JOIN hh ON hh.grid_id = a.leaf_id
  LEFT JOIN pp ON pp.grid_id = a.leaf_id
  LEFT JOIN bb ON bb.grid_id = a.leaf_id
 GROUP BY a.anc_id;
