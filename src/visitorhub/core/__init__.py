"""Generic machinery shared by every resource; imports no domain."""
