"""Consents: a visitor's opt-ins, by type and channel, with their history."""
