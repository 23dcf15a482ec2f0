"""The peer: Django's built-in password reset, served like sspr, for `python -m bench.peer`.

Runs in its own virtualenv (bench/.venv-django, made by bench/peer.py on first
use), never in sspr's: Django is no dependency of sspr.
"""
