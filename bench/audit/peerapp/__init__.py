"""Tables shaped like Registru's people, for the peers of B1 (bench-only)."""
