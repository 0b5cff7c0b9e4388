"""The WSGI entry point for running gunicorn (or another WSGI server) yourself:
`gunicorn lrs.wsgi:app`, from any folder once the package is installed. Settings come from the
LRS_* environment variables, as for `lrs serve`; importing this module builds the app. Importing
happens in the workers, after gunicorn's master has logged its own lines: for those in
LRS_LOG_FORMAT too, gunicorn needs `--logger-class lrs.logs.GunicornLogger`.

The address the server listens on is the server's own (gunicorn's -b): LRS_PUBLIC_URL's default,
built from LRS_HOST and LRS_PORT, does not know it, so its absence is said in the log."""
import logging
import os

from gunicorn.errors import AppImportError

from lrs.app import create_app
from lrs.settings import SettingError, parse_public_url, public_url_unset

try:
    app = create_app()
except SettingError as error:  # gunicorn prints an AppImportError as one line and stops, not a traceback per worker
    raise AppImportError(str(error)) from None
if not parse_public_url(os.environ.get("LRS_PUBLIC_URL", "")):
    logging.getLogger("lrs").warning(public_url_unset("the app runs under a WSGI server of your own",
                                                      app.extensions["lrs"].settings["public_url"]))
