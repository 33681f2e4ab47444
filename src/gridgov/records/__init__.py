"""Records staff keep by hand, with history: households, persons, buildings, staff and their grid roles."""
