"""Pure helpers over a data set's recordings (event detection for splitting)."""
