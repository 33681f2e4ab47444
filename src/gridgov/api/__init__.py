"""HTTP face (FastAPI): thin routes over the domain services."""
