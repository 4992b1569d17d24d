"""Visitors, partial visitors, their opt-ins and external ids."""
