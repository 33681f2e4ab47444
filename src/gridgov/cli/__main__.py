"""``python -m gridgov.cli``."""

from gridgov.cli.main import main

main()
