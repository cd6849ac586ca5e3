"""The transports between the master and its workers (PB; in-process later)."""
