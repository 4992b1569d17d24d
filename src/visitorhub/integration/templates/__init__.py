"""Declarative import/export mappings between an outside data model and visitorhub entities."""
