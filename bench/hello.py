"""The bound: a trivial Flask app served exactly like sspr, measured in the same run.

Throughput figures for the wizard are given as a ratio to this, so they say what
fraction of what this machine (and this load generator) can do right now.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello\n"
