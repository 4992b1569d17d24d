"""Parkings: a visitor's subscriptions to parking partners, and the history of their parking sessions."""
