"""The WSGI entry point for running gunicorn (or another WSGI server) yourself:
`gunicorn lrs.wsgi:app`, from any folder once the package is installed. Settings come from the
LRS_* environment variables, as for `lrs serve`; importing this module builds the app."""
from lrs.app import create_app

app = create_app()
