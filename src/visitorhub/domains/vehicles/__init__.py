"""Visitors' vehicles."""
