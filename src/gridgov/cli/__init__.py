"""Command-line face (typer): thin commands over the domain services."""
