"""The one protection step every published number passes."""
