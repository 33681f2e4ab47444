"""Import households, buildings, persons, incidents and staff from CSV, XLSX, GeoJSON or GeoPackage."""
