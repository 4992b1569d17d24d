"""Interests: what a visitor is interested in, each named by an external id."""
