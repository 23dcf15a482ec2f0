"""The bound: a trivial Flask app served exactly like sspr, measured in the same run.

Throughput figures for the wizard are given as a ratio to this, so they say what
fraction of what this machine (and this load generator) can do right now.
`GET /form` is the bound of a form page on sspr's stack: a Flask-WTF form with
one text field and its CSRF token (in a new session) in a small Jinja page,
without sspr's templates, translations or headers.  `POST /hash` is the bound
of a password step served over HTTP: one argon2 hash of the posted password
with argon2-cffi's default parameters (sspr's and the peer's), and nothing else.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from flask import Flask, request
from flask_wtf import FlaskForm
from wtforms import StringField

app = Flask(__name__)
app.secret_key = secrets.token_hex(32)
app.config["WTF_I18N_ENABLED"] = False  # no message catalogue to look up: the cheapest form
hasher = PasswordHasher()

FORM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reset your password</title></head>
<body><main><h1>Reset your password</h1>
<form method="post" action="/form">{{ form.csrf_token }}
<label for="username">User name</label> {{ form.username(autocomplete="username") }}
<button type="submit">Next</button></form></main></body></html>
"""


form_page = app.jinja_env.from_string(FORM_PAGE)  # compiled once, like a template file


class NameForm(FlaskForm):  # type: ignore[misc]
    username = StringField("User name")


@app.get("/")
def hello() -> str:
    return "hello\n"


@app.post("/hash")
def hash_password() -> str:
    hasher.hash(request.form["password"])
    return "hashed\n"


@app.get("/form")
def form() -> str:
    return form_page.render(form=NameForm())
