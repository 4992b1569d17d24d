"""The background worker: periodic tasks (stream runs, later connector syncs) sharing work through the database."""
