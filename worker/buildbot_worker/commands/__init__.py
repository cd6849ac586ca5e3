"""The commands a master can run on this worker, by wire name."""
