"""Print outputs: the 公示 board (PDF/PNG) of a grid with its map, responsible staff and duties."""
