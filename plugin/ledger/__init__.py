"""The publish ledger: an append-only, hash-chained record of every publish (SQLite or PostgreSQL)."""
