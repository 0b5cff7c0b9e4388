"""WSGI entry point: `gunicorn wsgi:app` (settings come from LRS_* environment variables)."""
from lrs.app import create_app

app = create_app()
