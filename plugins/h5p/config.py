"""The H5P plugin's settings resolved once, and the IRIs it mints from them.

seeds/001 derives both the actor's account homePage and every content IRI from one base URL
(`{BASE_URL}/h5p/content/{contentId}`); this keeps that rule in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote, unquote

from lrs.xapi.agents import ifi_key


@dataclass(frozen=True)
class H5PConfig:
    base_url: str
    platform: str
    strong_score: float
    weak_score: float
    min_group_size: int = 5

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "H5PConfig":
        return cls(
            base_url=(settings["h5p_base_url"] or settings["public_url"]).rstrip("/"),
            platform=settings["h5p_platform"],
            strong_score=settings["h5p_strong_score"],
            weak_score=settings["h5p_weak_score"],
            min_group_size=settings["h5p_min_group_size"],
        )

    @property
    def content_prefix(self) -> str:
        return f"{self.base_url}/h5p/content/"

    def content_iri(self, content_id: str) -> str:
        return self.content_prefix + quote(content_id, safe="")

    def content_id(self, iri: str) -> str:
        """The contentId of an H5P content IRI (the inverse of `content_iri`)."""
        return unquote(iri[len(self.content_prefix):]) if iri.startswith(self.content_prefix) else iri

    def class_iri(self, class_id: str) -> str:
        return f"{self.base_url}/h5p/classes/{quote(class_id, safe='')}"

    def extension(self, name: str) -> str:
        """Context extensions that keep what a client sent: `event`, `submitted-actor`."""
        return f"{self.base_url}/h5p/extensions/{name}"

    def actor(self, user_id: str) -> dict:
        return {"objectType": "Agent", "account": {"homePage": self.base_url, "name": user_id}}

    def actor_key(self, actor_id: str) -> str:
        """The stored actor key for GET ?actorId=: an account name on the base URL, or an email."""
        if actor_id.startswith("mailto:"):
            return ifi_key({"mbox": actor_id})
        if "@" in actor_id:
            return ifi_key({"mbox": "mailto:" + actor_id})
        return ifi_key(self.actor(actor_id))

    def user_id(self, actor_key: str) -> str:
        """The userId shown for a stored actor key: the account name, or the mbox IRI."""
        kind, _, value = actor_key.partition(":")
        return value.partition("|")[2] if kind == "account" else value
