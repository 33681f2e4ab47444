"""Deterministic sample data (文艺路街道) for demos, tests and benchmarks."""
