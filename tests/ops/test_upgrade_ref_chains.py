"""Chains of StatementRefs that releases before bedd2e7 followed one link deep only, when their
statements arrived out of order: a -> b -> c with c stored after a kept only b's part in a's
`via`, and a did not wait for a missing c with b. The first start of this release completes
them, once, so a matches c's filters (Communication 2.1.3: the rule applies recursively)."""
from __future__ import annotations

from typing import Any

import pytest

from lrs.store.statements import CHAINS_COMPLETED, CHAINS_OWNED
from tests.http.test_statement_ref_chains import (
    MINE,
    WRITER,
    assert_mine_stops_at_the_writers_statement,
    chain,
    found,
    post,
    with_mine_and_writer,
)


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
def store_settings(request: Any, tmp_path: Any) -> dict:
    """MongoDB's (or the embedded store over the wire protocol), or an embedded store's data folder."""
    return {"mongo_uri": request.getfixturevalue("shared_store")} if request.param == "pymongo" \
        else {"data_dir": str(tmp_path)}


@pytest.fixture
def old_store(store_settings: dict, make_app: Any) -> tuple[dict, list[dict], list[dict]]:
    """The settings of a store as the earlier release left it, its whole chain and its cut one."""
    settings = store_settings
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


def test_the_first_start_narrows_chains_through_another_credentials_statement(store_settings, make_app):
    """Releases before CHAINS_OWNED kept in each part whose statement it was: with a -> b -> c -> d,
    c the writer's and the others mine's, mine's a and b matched d's filters through d's part."""
    app = make_app(**store_settings)
    client, statements = with_mine_and_writer(app), chain(4)
    for statement, owner in zip(statements, [MINE, MINE, WRITER, MINE], strict=True):
        post(client, [statement], owner)
    lrs = app.extensions["lrs"]
    collection = lrs.statement_store.collection
    with lrs.unit_of_work():
        for n, statement in enumerate(statements[:3]):
            whose = [collection.find_one({"_id": s["id"]})["authority"] for s in statements[n + 1:]]
            collection.update_one({"_id": statement["id"]},
                                  {"$set": {f"via.{k}.authority": authority for k, authority in enumerate(whose)}})
        lrs.db["store_upgrades"].delete_one({"_id": CHAINS_OWNED})
    a, b, _, d = statements
    assert found(client, MINE, verb=d["verb"]["id"]) == {a["id"], b["id"], d["id"]}  # the leak
    if "data_dir" in store_settings:
        lrs.db.close()  # one process at a time on a folder
    restarted = make_app(**store_settings, mongo_db=lrs.db.name)
    assert_mine_stops_at_the_writers_statement(restarted.test_client(), statements)
