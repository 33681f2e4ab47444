-- One Mapbox vector tile (layer "grids") of the live grids meeting web-mercator tile :z/:x/:y.
-- Grids are stored in EPSG:4326: the tile envelope is transformed once to 4326 for the GiST index test,
-- and only the grids in it are transformed to 3857 and clipped (64-unit buffer so borders join seamlessly).
-- :level NULL = every level. Attributes: code, name, level (no ledger: popups fetch /api/ledger on click).
WITH env AS (
    SELECT ST_TileEnvelope(CAST(:z AS int), CAST(:x AS int), CAST(:y AS int)) AS m
), q AS (
    SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), env.m, 4096, 64, true) AS geom, g.code, g.name, g.level
      FROM grid g, env
     WHERE g.valid_to IS NULL
       AND g.lineage_id IS NULL
       AND g.geom && ST_Transform(env.m, 4326)
       AND (CAST(:level AS text) IS NULL OR g.level = CAST(:level AS text))
     ORDER BY CASE g.level WHEN 'street' THEN 3 WHEN 'community' THEN 2 ELSE 1 END  -- parents' borders on top
)
SELECT ST_AsMVT(q, 'grids', 4096, 'geom') FROM q WHERE q.geom IS NOT NULL
