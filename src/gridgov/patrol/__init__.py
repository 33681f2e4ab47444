"""Patrol operations: tracks and their figures, teams and areas, rosters and attendance."""
