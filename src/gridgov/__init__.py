"""gridgov: 网格化管理 — grids, ledgers and maps for community governance."""

__version__ = "0.1.0"
