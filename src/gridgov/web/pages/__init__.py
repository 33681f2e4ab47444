"""Workspace page routes, one module per page (all ``include_in_schema=False``)."""
