"""Services of a centre, with their stores, segments, themes and targets."""
