"""Rewards: a visitor's loyalty balance and status at a centre."""
