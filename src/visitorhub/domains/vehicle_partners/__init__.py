"""Vehicle partners: a visitor's vehicle as a parking partner knows it, and which partner serves which centre."""
