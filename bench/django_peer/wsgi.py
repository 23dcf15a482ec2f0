"""The WSGI callable gunicorn serves: `bench.django_peer.wsgi:application`."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_peer.settings")
application = get_wsgi_application()
