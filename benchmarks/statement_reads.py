"""GET /statements over a large embedded store, through a real `lrs serve`: p50/p99 per query shape.

    python benchmarks/statement_reads.py                                  # 100,000 statements, temporary folder
    python benchmarks/statement_reads.py --data-dir /tmp/reads-100k       # keep the folder; reused when full
    python benchmarks/statement_reads.py --statements 20000 --rounds 50

The issue's read target: a filtered page of 100 over 100,000 statements, p50 under 50 ms and p99
under 200 ms. The benchmark

1. fills LRS_DATA_DIR in this process, before any server runs on it: statements go through the
   core's own write path (`lrs.statements.store`: validation, derived fields, indexes, one disk
   commit per batch of 1,000), as a POST of that batch would, only without HTTP. A folder that
   already holds the statements is reused as it is. The statements are spread like an LRS's:
   2,000 learners, 40 instructors and 100 teams (`related_agents`), 12 verbs with a skewed mix,
   1,000 activities in 50 courses and 5 programmes (`contextActivities` parent, grouping, category:
   `related_activities`), 10,000 registrations, timestamps over 180 days, 1% StatementRefs and
   0.2% voiding statements (so the `via` branch and the voided filter take part). Every 10th
   statement is a 2.0.0 one whose contextAgents name one of 20 mentors and the next course's
   instructor, and whose contextGroups the next team: a 1.0.x reader's `related_agents` leaves
   those out (`context_only_agents`), a 2.0 reader's does not. The statements' `stored`
   times are those of the fill, a batch at a time: since/until windows are chosen from the stored
   times of the oldest and newest statement, as fractions of that span.
2. starts `lrs serve` on the folder as a user does (start-up loads it and builds the indexes),
3. for each query shape, and each X-Experience-API-Version (1.0.3 and 2.0.0), sends `--rounds`
   GETs (each round another agent, verb, activity...) from one client, then from 4 concurrent
   clients, and prints p50/p99 of the whole HTTP round trip. The shapes: each filter alone,
   combinations, ascending, format=ids and canonical, filters that match nothing, and pages 2 and
   50 of a few queries (reached by following their `more` links).

The load average is printed before and after: on a busy machine the figures include the wait for
a core.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, Iterator

import requests
from statements import peak_rss_mb

from lrs.server import spawned

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = [ADL + verb for verb in ("experienced", "attempted", "answered", "completed", "passed", "failed",
                                  "progressed", "launched", "initialized", "terminated", "commented", "shared")]
VERB_WEIGHTS = [30, 20, 20, 8, 5, 3, 5, 3, 2, 2, 1, 1]
VOIDED = ADL + "voided"
SITE = "http://example.com"
SHAPE = dict(learners=2000, instructors=40, teams=100, mentors=20, activities=1000, courses=50, programmes=5,
             registrations=10_000, days=180)
V2_EVERY = 10  # every 10th statement is a 2.0 one, with context agents and groups
BATCH = 1000
ADMIN = ("bench", "bench-secret")


def learner(n: int) -> dict:
    return {"objectType": "Agent", "name": f"Learner {n}", "mbox": f"mailto:learner{n}@example.com"}


def instructor(n: int) -> dict:
    return {"objectType": "Agent", "name": f"Instructor {n}", "account": {"homePage": SITE, "name": f"instructor-{n}"}}


def team(n: int) -> dict:
    return {"objectType": "Group", "name": f"Team {n}", "mbox": f"mailto:team{n}@example.com"}


def mentor(n: int) -> dict:
    """Named only in 2.0 contextAgents: related to nothing for a 1.0.x reader."""
    return {"objectType": "Agent", "name": f"Mentor {n}", "account": {"homePage": SITE, "name": f"mentor-{n}"}}


def activity(n: int) -> str:
    return f"{SITE}/activities/{n}"


def course(n: int) -> str:
    return f"{SITE}/courses/{n}"


def programme(n: int) -> str:
    return f"{SITE}/programmes/{n}"


def registration(n: int) -> str:
    return str(uuid.UUID(int=n + 1))


def statements(total: int, seed: int = 12) -> Iterator[dict]:
    """`total` statements with the spread of the module docstring, the same for the same seed."""
    chance = random.Random(seed)
    start = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    earlier: list[str] = []
    for n in range(total):
        statement_id = str(uuid.UUID(int=(seed << 64) + n))
        who = chance.randrange(SHAPE["learners"])
        thing = chance.randrange(SHAPE["activities"])
        where = thing % SHAPE["courses"]
        statement: dict[str, Any] = {
            "id": statement_id,
            "actor": learner(who),
            "verb": {"id": chance.choices(VERBS, VERB_WEIGHTS)[0]},
            "object": {"objectType": "Activity", "id": activity(thing),
                       "definition": {"type": "http://adlnet.gov/expapi/activities/lesson"}},
            "context": {
                "registration": registration((who * 5 + where) % SHAPE["registrations"]),
                "instructor": instructor(where % SHAPE["instructors"]),
                "team": team(who % SHAPE["teams"]),
                "contextActivities": {"parent": [{"id": course(where)}],
                                      "grouping": [{"id": programme(where % SHAPE["programmes"])}],
                                      "category": [{"id": f"{SITE}/profiles/{where % 2}"}]},
            },
            "timestamp": (start + dt.timedelta(seconds=n * SHAPE["days"] * 86400 // max(total, 1)))
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if n % V2_EVERY == 3:  # 2.0 context: a mentor, the next course's instructor, the next team
            statement["context"]["contextAgents"] = [
                {"objectType": "contextAgent", "agent": mentor(who % SHAPE["mentors"]),
                 "relevantTypes": [f"{SITE}/roles/mentor"]},
                {"objectType": "contextAgent", "agent": instructor((where + 1) % SHAPE["instructors"])}]
            statement["context"]["contextGroups"] = [
                {"objectType": "contextGroup", "group": team((who + 1) % SHAPE["teams"])}]
        if statement["verb"]["id"] in (VERBS[3], VERBS[4], VERBS[5]):
            statement["result"] = {"score": {"scaled": round(chance.random(), 2)}, "completion": True}
        dice = chance.random()
        if earlier and dice < 0.012:  # a StatementRef to, or the voiding of, an earlier statement
            target = earlier.pop(chance.randrange(len(earlier)))
            statement["object"] = {"objectType": "StatementRef", "id": target}
            if dice < 0.002:
                statement["verb"] = {"id": VOIDED}
                statement.pop("result", None)
        if n % 7 == 0:
            earlier.append(statement_id)
        yield statement


def fill(data_dir: str, total: int) -> float:
    """Store `total` statements in the folder through the core (nothing when it holds them)."""
    from lrs.core import LRS

    lrs = LRS.from_settings({"data_dir": data_dir, "mongo_uri": "", "log_level": "WARNING"})
    lrs.start()
    try:
        have = lrs.statement_store.collection.count_documents({})
        if have >= total:
            print(f"{data_dir} already holds {have:,} statements: reused")
            return 0.0
        authority = lrs.default_authority(ADMIN[0])
        began = time.perf_counter()
        batch: list[dict] = []
        for statement in statements(total):
            batch.append(statement)
            if len(batch) == BATCH:
                _store(lrs, batch, authority)
                batch = []
        if batch:
            _store(lrs, batch, authority)
        elapsed = time.perf_counter() - began
        print(f"filled {total:,} statements in {elapsed:.0f} s ({total / elapsed:,.0f} statements/s, batches of {BATCH})")
        return elapsed
    finally:
        lrs.db.close()


def _store(lrs: Any, batch: list[dict], authority: dict) -> None:
    """The batch's 1.0.3 statements and its 2.0.0 ones (those with context agents), as two clients would send them."""
    with lrs.unit_of_work():
        for version in ("1.0.3", "2.0.0"):
            part = [s for s in batch if ("contextAgents" in s["context"]) == (version == "2.0.0")]
            lrs.statements.store(part, authority=authority, version=version)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def agent_param(agent: dict) -> str:
    return json.dumps({key: value for key, value in agent.items() if key in ("mbox", "account")})


def stored_span(get: Callable[[dict], dict]) -> tuple[dt.datetime, dt.datetime]:
    """The stored times of the oldest and the newest statement."""
    oldest = get({"limit": 1, "ascending": "true"})["statements"][0]["stored"]
    newest = get({"limit": 1})["statements"][0]["stored"]
    return tuple(dt.datetime.fromisoformat(moment.replace("Z", "+00:00")) for moment in (oldest, newest))


def shapes(span: tuple[dt.datetime, dt.datetime]) -> dict[str, Callable[[int], dict]]:
    """Query parameters per shape; round i of a shape asks about its i-th agent, verb, ..."""
    first, last = span

    def at(fraction: float) -> str:
        return (first + (last - first) * fraction).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def window(i: int) -> tuple[str, str]:
        begin = (i * 0.37) % 0.8
        return at(begin), at(begin + 0.2)

    return {
        "all (newest first)": lambda i: {},
        "agent": lambda i: {"agent": agent_param(learner(i * 7 % SHAPE["learners"]))},
        "agent, related_agents (instructor)": lambda i: {
            "agent": agent_param(instructor(i % SHAPE["instructors"])), "related_agents": "true"},
        "agent, related_agents (team)": lambda i: {
            "agent": agent_param(team(i % SHAPE["teams"])), "related_agents": "true"},
        "verb (common)": lambda i: {"verb": VERBS[i % 3]},
        "verb (rare)": lambda i: {"verb": VERBS[10 + i % 2]},
        "activity": lambda i: {"activity": activity(i * 13 % SHAPE["activities"])},
        "activity, related (course)": lambda i: {
            "activity": course(i % SHAPE["courses"]), "related_activities": "true"},
        "activity, related (programme)": lambda i: {
            "activity": programme(i % SHAPE["programmes"]), "related_activities": "true"},
        "registration": lambda i: {"registration": registration(i * 31 % SHAPE["registrations"])},
        "since (newest 10%)": lambda i: {"since": at(0.9)},
        "until (oldest 10%)": lambda i: {"until": at(0.1)},
        "since + until (a 20% window)": lambda i: dict(zip(("since", "until"), window(i), strict=True)),
        "since, ascending": lambda i: {"since": at((i * 0.37) % 0.9), "ascending": "true"},
        "agent + verb": lambda i: {"agent": agent_param(learner(i * 7 % SHAPE["learners"])), "verb": VERBS[i % 3]},
        "activity related + verb (rare)": lambda i: {
            "activity": course(i % SHAPE["courses"]), "related_activities": "true", "verb": VERBS[5]},
        "registration + verb": lambda i: {"registration": registration(i * 31 % SHAPE["registrations"]),
                                          "verb": VERBS[i % 3]},
        "verb + since/until window": lambda i: {"verb": VERBS[i % 6],
                                                **dict(zip(("since", "until"), window(i), strict=True))},
        "agent related + activity related": lambda i: {
            "agent": agent_param(instructor(i % SHAPE["instructors"])), "related_agents": "true",
            "activity": course(i % SHAPE["courses"]), "related_activities": "true"},
        "agent related (mentor: 2.0 context only)": lambda i: {
            "agent": agent_param(mentor(i % SHAPE["mentors"])), "related_agents": "true"},
        "activity + since (newest half)": lambda i: {"activity": activity(i * 13 % SHAPE["activities"]),
                                                     "since": at(0.5)},
        "registration + activity related": lambda i: {
            "registration": registration((i * 7 % SHAPE["learners"] * 5 + i % SHAPE["courses"]) % SHAPE["registrations"]),
            "activity": course(i % SHAPE["courses"]), "related_activities": "true"},
        "all, ascending": lambda i: {"ascending": "true"},
        "agent, ascending": lambda i: {"agent": agent_param(learner(i * 7 % SHAPE["learners"])), "ascending": "true"},
        "agent related (team), ascending": lambda i: {
            "agent": agent_param(team(i % SHAPE["teams"])), "related_agents": "true", "ascending": "true"},
        "verb (common), format=ids": lambda i: {"verb": VERBS[i % 3], "format": "ids"},
        "verb (common), format=canonical": lambda i: {"verb": VERBS[i % 3], "format": "canonical"},
        "agent related (team), format=canonical": lambda i: {
            "agent": agent_param(team(i % SHAPE["teams"])), "related_agents": "true", "format": "canonical"},
        # filters that match nothing: an unknown agent or verb, a window after the newest statement,
        # and two wide filters that never meet (a course's statements, another course's instructor)
        "none: unknown agent": lambda i: {"agent": agent_param(learner(SHAPE["learners"] + i))},
        "none: unknown verb": lambda i: {"verb": f"{ADL}never-{i}"},
        "none: since after the newest": lambda i: {"since": at(1.01)},
        "none: instructor related + other course": lambda i: {
            "agent": agent_param(instructor(i % SHAPE["instructors"])), "related_agents": "true",
            "activity": course((i + 5) % SHAPE["courses"]), "related_activities": "true"},
        "none: agent related (mentor) + verb": lambda i: {
            "agent": agent_param(mentor(i % SHAPE["mentors"])), "related_agents": "true", "verb": VERBS[5]},
    }


# Shapes whose `more` pages are followed: page 50 is 4,900 matches down.
DEEP = ("all (newest first)", "verb (common)", "activity, related (programme)", "since, ascending")
DEEP_PAGES = (2, 50)
VERSIONS = ("1.0.3", "2.0.0")


class Client:
    """One HTTP client: its own keep-alive session."""

    def __init__(self, endpoint: str, version: str = "1.0.3"):
        self.endpoint = endpoint
        self.base = endpoint.rsplit("/xapi", 1)[0]
        self.session = requests.Session()
        self.session.auth = ADMIN
        self.session.headers["X-Experience-API-Version"] = version

    def get(self, params: dict, limit: int = 100) -> dict:
        response = self.session.get(f"{self.endpoint}/statements", params={"limit": limit, **params}, timeout=300)
        response.raise_for_status()
        return response.json()

    def follow(self, more: str) -> dict:
        response = self.session.get(self.base + more, timeout=300)
        response.raise_for_status()
        return response.json()


def timed(requests_: list[Callable[[Client], dict]], endpoint: str, clients: int,
          version: str) -> tuple[list[float], int]:
    """Latencies of the requests sent by `clients` concurrent clients, and the statements returned."""
    latencies: list[float] = []
    returned = 0
    lock = threading.Lock()
    local = threading.local()

    def send(request: Callable[[Client], dict]) -> None:
        nonlocal returned
        if not hasattr(local, "client"):
            local.client = Client(endpoint, version)
        began = time.perf_counter()
        body = request(local.client)
        elapsed = time.perf_counter() - began
        with lock:
            latencies.append(elapsed)
            returned += len(body["statements"])

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, requests_))
    return latencies, returned


def page_link(client: Client, params: dict, page: int) -> str:
    """The `more` link of page `page` (2 or later) of a query, found by following the links."""
    link = client.get(params)["more"]
    for _ in range(page - 2):
        link = client.follow(link)["more"] if link else ""
    return link


def requests_per_shape(endpoint: str, rounds: int, only: str) -> dict[str, list[Callable[[Client], dict]]]:
    """The GETs of each shape: round i asks about the shape's i-th agent, verb...; a deep page
    repeats the pages of the shape's first three queries (following 49 links per round would
    time the links, not the page)."""
    probe = Client(endpoint)
    makers = shapes(stored_span(probe.get))
    table = {name: [partial(Client.get, params=make(i)) for i in range(rounds)]
             for name, make in makers.items() if only in name}
    for name, page in itertools.product(DEEP, DEEP_PAGES):
        label = f"{name}, page {page}"
        if only in label:
            links = [link for link in (page_link(probe, makers[name](i), page) for i in range(3)) if link]
            table[label] = [partial(Client.follow, more=links[i % len(links)]) for i in range(rounds)] if links else []
    return table


def measure(endpoint: str, rounds: int, client_counts: list[int], versions: list[str], only: str = "") -> None:
    table = requests_per_shape(endpoint, rounds, only)
    header = [f"{label} {n}c" for n in client_counts for label in ("p50 ms", "p99 ms")]
    print(f"{'shape':<48} {'version':>7} {'page':>5} " + " ".join(f"{cell:>11}" for cell in header))
    for name, requests_ in table.items():
        if not requests_:
            print(f"{name:<48} (no such page)")
            continue
        for version in versions:
            cells: list[str] = []
            average = 0.0
            for clients in client_counts:
                latencies, returned = timed(requests_, endpoint, clients, version)
                average = returned / len(latencies)
                cells += [f"{percentile(latencies, .5):.1f}", f"{percentile(latencies, .99):.1f}"]
            print(f"{name:<48} {version:>7} {average:>5.0f} " + " ".join(f"{cell:>11}" for cell in cells), flush=True)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100, help="GETs per shape and client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4], help="concurrent clients, per run")
    parser.add_argument("--data-dir", help="LRS_DATA_DIR to fill and serve (kept; default: a temporary folder)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--versions", nargs="+", default=list(VERSIONS), help="X-Experience-API-Version of the GETs")
    parser.add_argument("--only", default="", help="only the shapes whose name holds this text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as fresh:
        data_dir = args.data_dir or fresh
        fill(data_dir, args.statements)
        env = {"LRS_ADMIN_KEY": ADMIN[0], "LRS_ADMIN_SECRET": ADMIN[1], "LRS_LOG_LEVEL": "WARNING",
               "LRS_MONGO_URI": "", "LRS_DATA_DIR": data_dir}
        began = time.perf_counter()
        with spawned(env, args.port, timeout=1800) as (endpoint, server):
            print(f"lrs serve up on the folder in {time.perf_counter() - began:.0f} s, worker peak RSS "
                  f"{peak_rss_mb(server):,.0f} MB; {args.rounds} GETs per shape; load average {load_average()}")
            measure(endpoint, args.rounds, args.clients, args.versions, args.only)
            print(f"load average after: {load_average()}; worker peak RSS {peak_rss_mb(server):,.0f} MB")


if __name__ == "__main__":
    main()
