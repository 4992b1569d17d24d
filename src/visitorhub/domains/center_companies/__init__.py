"""Companies of a centre."""
