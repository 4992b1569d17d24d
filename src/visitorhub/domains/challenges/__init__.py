"""Challenges of a centre, visitors' participations (points, rankings, history)."""
