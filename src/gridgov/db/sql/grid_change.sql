-- New versions of live grids (rows locked and versions checked by the caller, old state already copied to
-- history rows): a NULL keeps the field. The live row keeps its id, so children and entities stay attached.
UPDATE grid g
   SET name = coalesce(s.name, g.name),
       geom = coalesce(ST_GeomFromWKB(s.wkb, 4326), g.geom),
       parent_id = coalesce(s.parent_id, g.parent_id),
       version = g.version + 1,
       valid_from = now(),
       updated_by = CAST(:actor AS text)
  FROM unnest(CAST(:ids AS bigint[]), CAST(:names AS text[]), CAST(:wkbs AS bytea[]), CAST(:parent_ids AS bigint[]))
       AS s(id, name, wkb, parent_id)
 WHERE g.id = s.id
