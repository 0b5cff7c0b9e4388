"""The WSGI entry point for running gunicorn (or another WSGI server) yourself:
`gunicorn lrs.wsgi:app`, from any folder once the package is installed. Settings come from the
LRS_* environment variables, as for `lrs serve`; importing this module builds the app. Importing
happens in the workers, after gunicorn's master has logged its own lines: for those in
LRS_LOG_FORMAT too, gunicorn needs `--logger-class lrs.logs.GunicornLogger`."""
from gunicorn.errors import AppImportError

from lrs.app import create_app
from lrs.settings import SettingError

try:
    app = create_app()
except SettingError as error:  # gunicorn prints an AppImportError as one line and stops, not a traceback per worker
    raise AppImportError(str(error)) from None
