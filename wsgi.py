"""`gunicorn wsgi:app` from the repository folder; installed, use `gunicorn lrs.wsgi:app`."""
from lrs.wsgi import app

__all__ = ["app"]
