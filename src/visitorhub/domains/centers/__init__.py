"""Centres and the visitors' relation to them."""
