"""One folder per part of the Visitor API."""
