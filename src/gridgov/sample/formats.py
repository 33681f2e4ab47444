"""The sample's CSV file formats: one column list per file, shared by the generator and the loader."""

from __future__ import annotations

CSV_COLUMNS: dict[str, list[str]] = {
    "households.csv": ["code", "address", "building_code", "kind", "lon", "lat"],
    "persons.csv": [
        "code", "household_code", "name", "sex", "birth_year", "phone", "id_number",
        "is_resident_rep", "is_volunteer", "is_party_member", "member_type", "tags",
    ],
    # The Party organisation (generate.party; loaded by load.load_party): codes of other files' records, several
    # grid codes separated by ";", dates YYYY-MM-DD, booleans 1/0.
    "party_contacts.csv": ["person_code", "household_code", "since"],
    # party_orgs, party_memberships and party_contacts are what gridgov.party.imports takes (its column names);
    # secretary: a member's person code or a staff code.
    "party_orgs.csv": [
        "code", "name", "kind", "form", "parent_code", "grid_codes", "secretary", "phone", "founded_on",
    ],
    "party_org_posts.csv": ["org_code", "post", "person_code", "staff_code", "since"],
    "party_memberships.csv": ["person_code", "org_code", "since"],
    "party_registers.csv": [
        "person_code", "joined_party_on", "employer", "employer_org", "reported_on", "flow", "flow_place",
        "certificate_no", "certificate_on", "flow_mode", "shows_identity",
    ],
    "resident_units.csv": [
        "code", "name", "kind", "address", "lon", "lat", "contact_name", "contact_phone", "has_party_org",
        "member_of_org_code", "joined_on",
    ],
    "volunteer_teams.csv": ["code", "name", "kind", "grid_code", "org_code", "leader_person_code", "founded_on"],
    "volunteer_team_members.csv": ["team_code", "person_code", "since"],
    "volunteer_activities.csv": ["team_code", "day", "hours", "title", "participants"],
    "party_meetings.csv": ["org_code", "kind", "held_on", "topic", "attendees", "expected"],
    "patrol_roster.csv": ["night", "shift", "team_code"],
    "staff.csv": ["staff_code", "name", "phone", "grid_code", "role"],
    "incidents.csv": [
        "code", "category", "subcategory", "description", "lon", "lat", "reported_at", "status", "level", "source",
        "urgency", "address", "reporter_name", "reporter_phone",
    ],
    # Each case's timeline: steps numbered from 1 (the report) in order; action as the timeline records it
    # (gridgov.vocab.INCIDENT_ACTIONS), level after the step, staff_code dispatched to (派遣 only), review_on (挂账).
    "incident_events.csv": ["code", "seq", "action", "at", "level", "staff_code", "note", "review_on"],
}  # fmt: skip
