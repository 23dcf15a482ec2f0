"""Benchmarks of the reset wizard against real gunicorn servers: `python -m bench.wizard`."""
