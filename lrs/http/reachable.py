"""Every route must be reachable. Werkzeug lets the first rule win where two would match, so a
plugin whose path setting lands one of its routes on another's would lose its requests silently."""
from __future__ import annotations

import re

from flask import Flask
from werkzeug.exceptions import HTTPException

from lrs.settings import SettingError

_ANY_METHOD = {"HEAD", "OPTIONS"}  # answered for every route alike


def refuse_shadowed_routes(app: Flask) -> None:
    """A SettingError naming both endpoints when a request meant for one route is answered by another."""
    urls = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "1", rule.rule)  # a sample request of this rule
        for method in sorted(rule.methods - _ANY_METHOD):
            try:
                answering, _ = urls.match(path, method=method)
            except HTTPException:  # the sample does not fit this rule's converters: nothing to compare
                continue
            if answering != rule.endpoint:
                raise SettingError(f"{method} {rule.rule} of {rule.endpoint} is answered by {answering} instead: "
                                   "give one of the two plugins another path (e.g. LRS_SIMPLE_EVENTS_PATH, LRS_H5P_PREFIX)")
