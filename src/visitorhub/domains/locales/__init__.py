"""Locales: the reference list of locale codes, and the locales each visitor speaks."""
