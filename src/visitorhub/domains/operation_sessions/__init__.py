"""Centre operation sessions of a visitor, and the segments and stores recorded for a session."""
