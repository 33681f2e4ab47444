"""Grids: the three-level hierarchy, its history and its codes."""
