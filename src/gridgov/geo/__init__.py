"""Geometry helpers shared by services: coordinate checks and conversions."""
