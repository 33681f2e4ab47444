"""The sample's CSV file formats: one column list per file, shared by the generator and the loader."""

from __future__ import annotations

CSV_COLUMNS: dict[str, list[str]] = {
    "households.csv": ["code", "address", "building_code", "kind", "lon", "lat"],
    "persons.csv": [
        "code", "household_code", "name", "sex", "birth_year", "phone", "id_number",
        "is_resident_rep", "is_volunteer", "is_party_member", "member_type", "tags",
    ],
    "party_contacts.csv": ["person_code", "household_code"],
    "patrol_roster.csv": ["night", "shift", "team_code"],
    "staff.csv": ["staff_code", "name", "phone", "grid_code", "role"],
    "incidents.csv": [
        "code", "category", "subcategory", "description", "lon", "lat", "reported_at", "status", "level", "source",
    ],
}  # fmt: skip
