"""Ledgers (网格台帐): counts per grid, rolled up through the hierarchy."""
