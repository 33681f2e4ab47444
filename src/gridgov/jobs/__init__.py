"""Background jobs: long work (a street's ledger, a batch of boards, a large import) run in a thread of the
server, its progress and result kept in PostgreSQL (``job``), so any page — or another server process — can
show the progress bar and offer the file when it is done."""
