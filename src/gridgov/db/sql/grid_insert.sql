-- New live grids of one level (:level), one row per array element in array order; each parent is resolved
-- by its live code (streets have none). The callers check codes, parents and levels first (one query for
-- the whole batch); the grid_check_parent trigger checks the pairing again.
INSERT INTO grid (code, name, level, parent_id, geom, updated_by)
SELECT s.code, s.name, CAST(:level AS text), p.id, ST_GeomFromWKB(s.wkb, 4326), CAST(:actor AS text)
  FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:parents AS text[]), CAST(:wkbs AS bytea[]))
       WITH ORDINALITY AS s(code, name, parent_code, wkb, ord)
  LEFT JOIN grid p ON p.code = s.parent_code AND p.valid_to IS NULL AND p.lineage_id IS NULL
 ORDER BY s.ord
