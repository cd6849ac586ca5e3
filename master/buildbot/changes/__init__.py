"""Change sources: pollers and listeners that turn commits into changes."""
