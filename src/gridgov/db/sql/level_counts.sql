-- How many rows of one table lie in grids of each level (through the hierarchy, not a second join).
-- With a complete hierarchy every level counts every assigned row once.
WITH RECURSIVE live AS (
    SELECT id, parent_id, level FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL
), anc(leaf, anc) AS (
    SELECT id, id FROM live
    UNION ALL
    SELECT a.leaf, l.parent_id FROM anc a JOIN live l ON l.id = a.anc WHERE l.parent_id IS NOT NULL
)
SELECT g.level, count(*) AS n
  FROM {table} e
  JOIN anc a ON a.leaf = e.grid_id
  JOIN live g ON g.id = a.anc
 WHERE {where}
 GROUP BY g.level;
