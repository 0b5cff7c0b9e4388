"""About: enabled plugins and their settings (secrets masked), the store and its limits, the
xAPI versions served, the endpoint, and client configuration for the client libraries (TinCanJS,
TinCanPython, xAPI.js) that work with those versions."""
from __future__ import annotations

import json

from flask import Blueprint, render_template, request

from lrs import __version__, credentials
from lrs.http.context import current_lrs
from lrs.http.versioning import enabled_versions
from lrs.xapi.versions import is_v2

blueprint = Blueprint("about", __name__)
MASK = "••••••••"
SECRET_PLACEHOLDER = "<the secret shown when it was created>"


@blueprint.get("/about")
def index() -> str:
    lrs = current_lrs()
    settings = [(setting.env, MASK if setting.secret and lrs.settings[name] else lrs.settings[name], setting.doc)
                for name, setting in lrs.settings.declared.items()]
    keys = [c.key for c in credentials.listed(lrs) if c.active]
    chosen = request.args.get("key") if request.args.get("key") in keys else (keys[0] if keys else None)
    return render_template("console/about.html", settings=settings, plugins=lrs.settings["plugins"],
                           embedded=not lrs.settings["mongo_uri"], versions=enabled_versions(), software=__version__,
                           endpoint=endpoint(), keys=keys, chosen=chosen,
                           snippets=client_snippets(chosen, SECRET_PLACEHOLDER) if chosen else None)


def endpoint() -> str:
    return current_lrs().settings["public_url"].rstrip("/") + "/xapi/"


def client_snippets(key: str, secret: str) -> dict[str, str]:
    """Ready-to-paste configuration of the common xAPI client libraries that work with the xAPI
    versions this LRS serves. TinCanJS (it sends 1.0.2) and TinCanPython (its about() refuses
    2.0.0) speak 1.0.x only, so a 2.0-only LRS offers them not; xAPI.js speaks both, and is set to
    the newest served version."""
    versions = enabled_versions()
    url, key, secret, newest = (json.dumps(value) for value in (endpoint(), key, secret, versions[-1]))
    snippets = {}
    if not is_v2(versions[0]):  # 1.0.3 is served (versions come oldest first)
        snippets["TinCanJS"] = (f"var lrs = new TinCan.LRS({{\n    endpoint: {url},\n    username: {key},\n"
                                f"    password: {secret},\n    allowFail: false\n}});")
        snippets["TinCanPython"] = (f"from tincan import RemoteLRS\n\nlrs = RemoteLRS(\n    endpoint={url},\n"
                                    f"    username={key},\n    password={secret},\n    version=\"1.0.3\",\n)")
    snippets["xAPI.js"] = (f"import XAPI from \"@xapi/xapi\";\n\nconst xapi = new XAPI({{\n    endpoint: {url},\n"
                           f"    auth: XAPI.toBasicAuth({key}, {secret}),\n    version: {newest}\n}});")
    return snippets
