"""Visitors, partial visitors and their external ids (their opt-ins: domains/optins)."""
