"""The `sspr` console script: Flask's command group around the app factory
(`sspr run`, `sspr shell`, `sspr routes`, `sspr db ...`, and sspr's own commands)."""

from __future__ import annotations

from flask.cli import FlaskGroup

from sspr import create_app

main = FlaskGroup(name="sspr", create_app=create_app, help="Self-service password reset.")
