"""Chains of StatementRefs that releases before bedd2e7 followed one link deep only, when their
statements arrived out of order: a -> b -> c with c stored after a kept only b's part in a's
`via`, and a did not wait for a missing c with b. The first start of this release completes
them, once, so a matches c's filters (Communication 2.1.3: the rule applies recursively)."""
from __future__ import annotations

from typing import Any

import pytest

from lrs.store.statements import CHAINS_COMPLETED
from tests.http.test_statement_ref_chains import chain, found, post


def as_an_earlier_release(lrs: Any, whole: list[dict], cut: list[dict]) -> None:
    """What an earlier release left of `whole` (stored a, b, c in that order) and `cut` (a and b
    stored, c not): a's `via` holds b's part only, and only b waits for the missing c."""
    store = lrs.statement_store
    for first in (whole[0], cut[0]):
        [part, *_] = store.collection.find_one({"_id": first["id"]})["via"]
        store.collection.update_one({"_id": first["id"]}, {"$set": {"via": [part]}})
    store.waiting_refs.update_one({"_id": cut[2]["id"]}, {"$pull": {"referrers": {"id": cut[0]["id"]}}})
    lrs.db["store_upgrades"].delete_one({"_id": CHAINS_COMPLETED})


@pytest.fixture(params=["pymongo", "data folder"])
def old_store(request: Any, tmp_path: Any, make_app: Any) -> tuple[dict, list[dict], list[dict]]:
    """The settings of a store as the earlier release left it, its whole chain and its cut one."""
    settings = ({"mongo_uri": request.getfixturevalue("shared_store")} if request.param == "pymongo"
                else {"data_dir": str(tmp_path)})
    app = make_app(**settings)
    client, whole, cut = app.test_client(), chain(3), chain(3)
    for statement in (*whole, *cut[:2]):
        post(client, [statement])
    lrs = app.extensions["lrs"]
    with lrs.unit_of_work():
        as_an_earlier_release(lrs, whole, cut)
    assert found(client, activity=whole[2]["object"]["id"]) == {whole[1]["id"], whole[2]["id"]}  # the gap
    if "data_dir" in settings:
        lrs.db.close()  # one process at a time on a folder
    return {**settings, "mongo_db": lrs.db.name}, whole, cut


def test_the_first_start_completes_chains_and_their_waits(old_store, make_app):
    settings, whole, cut = old_store
    client = make_app(**settings).test_client()
    assert found(client, activity=whole[2]["object"]["id"]) == {s["id"] for s in whole}
    post(client, [cut[2]])
    assert found(client, activity=cut[2]["object"]["id"]) == {s["id"] for s in cut}
