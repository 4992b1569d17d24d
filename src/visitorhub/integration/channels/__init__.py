"""Inbound channels: receive pushed JSON arrays (the S-360 contract), store them raw, apply them once."""
