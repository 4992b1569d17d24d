"""Bookmarks: the stores, restaurants, deals, events and news a visitor keeps."""
