"""visitorhub: the visitor data hub for venues."""

__version__ = "0.1.0"
