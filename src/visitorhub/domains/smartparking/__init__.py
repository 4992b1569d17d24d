"""Smart parking: car park entries and exits, the visitor found by id, barcode or licence plate."""
