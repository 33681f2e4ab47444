"""Database layer: engine, models, migrations, SQL files and the embedded PostGIS cluster."""
