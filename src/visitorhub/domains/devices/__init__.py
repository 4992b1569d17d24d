"""Devices and apps: a visitor's phones, the centre apps on each, and the event tokens apps use."""
