"""The H5P adapter: clients of Creatiq's xAPI API (seeds/001) switch their base URL to this LRS.

Statements posted, simplified H5P events, statement queries and learning analytics (content,
learner and class level, computed by MongoDB aggregation) under `/api/xapi`. Enable with
`LRS_PLUGINS=h5p`; see docs/h5p.md.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from flask import Flask

from lrs.core import LRS
from lrs.hooks import hookimpl
from lrs.settings import Setting, between, parse_http_url, plugin_path
from lrs_plugins.h5p.config import H5PConfig
from lrs_plugins.h5p.http import register
from lrs_plugins.h5p.identity import SCOPES
from lrs_plugins.h5p.submitted import SOURCE

PLUGIN_NAME = SOURCE  # the statements' `source`


def _prefix(value: str) -> str:
    """A prefix its routes' own paths follow ("/" would make them //...)."""
    if value == "/":
        raise ValueError("must be a path under /, e.g. /api/xapi")
    return plugin_path(value)


def _below_strong(settings: Mapping[str, Any]) -> None:
    """A content cannot be both a strong and a weak area of one learner."""
    if settings["h5p_weak_score"] >= settings["h5p_strong_score"]:
        raise ValueError(f"must be below LRS_H5P_STRONG_SCORE ({settings['h5p_strong_score']:g})")


@hookimpl
def lrs_declare_settings() -> Iterable[Setting]:
    return [
        Setting("h5p_prefix", "/api/xapi", "Path prefix of the H5P API.", _prefix),
        Setting("h5p_base_url", "", "Base URL of actors' account homePage and of content IRIs "
                "`{base}/h5p/content/{contentId}` (empty: LRS_PUBLIC_URL).", parse_http_url),
        Setting("h5p_platform", "EduAgentic H5P", "`context.platform` of statements made from H5P events."),
        Setting("h5p_strong_score", 80.0, "A learner's average score (%) on a content at or above "
                "which the content is one of their strongAreas.", between(float, 0, 100)),
        Setting("h5p_weak_score", 50.0, "A learner's average score (%) on a content below which the "
                "content is one of their weakAreas (below LRS_H5P_STRONG_SCORE).", between(float, 0, 100),
                relation=_below_strong),
        Setting("h5p_min_group_size", 5, "A learner (scope h5p) gets 403 for a content's analytics when a "
                "figure covers at least one but fewer than this many other learners, so no one else's score "
                "shows through an average; a figure of their own data alone is shown (0: always shown). "
                "Readers (h5p/read) always see them.", between(int, 0, 10 ** 6)),
    ]


@hookimpl
def lrs_declare_scopes() -> Iterable[str]:
    return list(SCOPES)


@hookimpl
def lrs_register_routes(app: Flask, lrs: LRS) -> None:
    register(app, lrs, lrs.settings["h5p_prefix"], H5PConfig.from_settings(lrs.settings))
