"""Operational endpoints: health, the change log, API keys."""
