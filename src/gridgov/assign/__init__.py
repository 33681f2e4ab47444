"""Spatial assignment of entities to grids."""
