"""Integration engines: templates (import/export), streams, channels, connectors."""
