"""One-time links that show a temporary password an admin set, once, to whoever holds the link."""
