"""Connectors: keep a remote system in step with the hub through its own API, one folder per system."""
