"""Running an installation: set-up of a new street, server processes and their logs, backups, unit files."""
