"""The WSGI entry point for running gunicorn (or another WSGI server) yourself:
`gunicorn lrs.wsgi:app`, from any folder once the package is installed. Settings come from the
LRS_* environment variables, as for `lrs serve`; importing this module builds the app."""
from gunicorn.errors import AppImportError

from lrs.app import create_app
from lrs.settings import SettingError

try:
    app = create_app()
except SettingError as error:  # gunicorn prints an AppImportError as one line and stops, not a traceback per worker
    raise AppImportError(str(error)) from None
