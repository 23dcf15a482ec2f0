"""The self-service reset wizard."""
