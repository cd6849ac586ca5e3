"""The message queue: how the master's parts tell each other that something happened."""
