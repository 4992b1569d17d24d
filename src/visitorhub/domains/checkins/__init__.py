"""Checkins: visitors checking in at a centre's service, by visitor or by barcode."""
