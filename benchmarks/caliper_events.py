"""Caliper events/s through POST /caliper/event, in envelopes of 100 events, then GET /caliper/events.

    python benchmarks/caliper_events.py                  # an in-process server on the embedded store
    python benchmarks/caliper_events.py --events 5000 --clients 4
    python benchmarks/caliper_events.py --url http://127.0.0.1:8000 --client-id K --client-secret S
                                                         # any running LRS with the caliper plugin

Gets a Bearer token from POST /oauth/token, then posts envelopes of mixed events (assessment
items with responses, grades with scores, media, navigation, sessions) from concurrent clients,
and prints events/s with p50/p99 latency per envelope. Every envelope must answer 200. Then it
lists the events (GET /caliper/events: the newest page, deep offsets, by learner, e-mail,
sensor, event type, date range, combined, and filters that match nothing; event n happened n minutes after
the first) and prints p50/p99 per listing over `--list-rounds` requests.

On the embedded store throughput falls as the store fills; measure against a real MongoDB
(LRS_MONGO_URI, or --url of a server using one) for production figures.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

import requests
from werkzeug.serving import make_server

CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"
KEY, SECRET = "caliper-bench", "caliper-bench-secret"
FIRST_EVENT = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)


def event(n: int) -> dict:
    """One of five Caliper 1.2 events, varied by n."""
    learner = {"id": f"https://example.edu/users/{n % 500}", "type": "Person",
               "extensions": {"email": f"user{n % 500}@example.edu"}}
    base = {"@context": CONTEXT, "id": f"urn:uuid:{uuid.uuid4()}", "actor": learner,
            "eventTime": event_time(n),
            "edApp": {"id": "https://example.edu/app", "type": "SoftwareApplication"},
            "group": {"id": f"https://example.edu/sections/{n % 20}", "type": "CourseSection"},
            "session": f"https://example.edu/sessions/{n % 300}"}
    kind = n % 5
    if kind == 0:
        return {**base, "type": "AssessmentItemEvent", "profile": "AssessmentProfile", "action": "Completed",
                "object": {"id": f"https://example.edu/items/{n % 100}", "type": "AssessmentItem",
                           "isPartOf": {"id": "https://example.edu/assessments/1", "type": "Assessment"}},
                "generated": {"id": f"https://example.edu/responses/{n}", "type": "MultipleChoiceResponse",
                              "value": "C", "duration": "PT42S"}}
    if kind == 1:
        return {**base, "type": "GradeEvent", "profile": "GradingProfile", "action": "Graded",
                "actor": {"id": "https://example.edu/autograder", "type": "SoftwareApplication"},
                "object": {"id": f"https://example.edu/attempts/{n}", "type": "Attempt", "assignee": learner},
                "generated": {"id": f"https://example.edu/scores/{n}", "type": "Score", "scoreGiven": n % 11,
                              "maxScore": 10}}
    if kind == 2:
        return {**base, "type": "MediaEvent", "profile": "MediaProfile", "action": "Paused",
                "object": {"id": f"https://example.edu/videos/{n % 30}", "type": "VideoObject"},
                "target": {"id": f"https://example.edu/videos/{n % 30}#t=30", "type": "MediaLocation"}}
    if kind == 3:
        return {**base, "type": "NavigationEvent", "profile": "ReadingProfile", "action": "NavigatedTo",
                "object": {"id": f"https://example.edu/books/1/pages/{n % 300}", "type": "Page", "name": "Page"}}
    return {**base, "type": "SessionEvent", "profile": "SessionProfile", "action": "LoggedIn",
            "object": {"id": "https://example.edu/app", "type": "SoftwareApplication"}}


def event_time(n: int) -> str:
    """Event n happened n minutes after the first (100,000 events: about 69 days)."""
    return (FIRST_EVENT + dt.timedelta(minutes=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(events: list[dict]) -> dict:
    return {"sensor": "https://example.edu/sensors/1", "sendTime": "2026-11-23T08:00:01.000Z",
            "dataVersion": CONTEXT, "data": events}


@contextmanager
def local_server() -> Iterator[tuple[str, str, str]]:
    """An in-process LRS with the caliper plugin on the embedded store, and an OAuth client."""
    from lrs.app import create_app

    app = create_app({"plugins": "caliper", "log_level": "WARNING", "data_dir": ""})
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.extensions["lrs"].create_credential(KEY, SECRET, ["caliper/events.write"], label="benchmark")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", KEY, SECRET
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def remote_server(url: str, client_id: str, secret: str) -> Iterator[tuple[str, str, str]]:
    yield url.rstrip("/"), client_id, secret


def access_token(url: str, client_id: str, secret: str) -> str:
    response = requests.post(f"{url}/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                          "client_secret": secret}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def run(url: str, token: str, total: int, size: int, clients: int) -> tuple[float, list[float]]:
    """Post `total` events in envelopes of `size`; returns (seconds, latency per envelope)."""
    bodies = [json.dumps(envelope([event(n) for n in range(start, min(start + size, total))]))
              for start in range(0, total, size)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local = threading.local()

    def send(body: str) -> float:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = session.post(f"{url}/caliper/event", data=body, headers=headers, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(send, bodies))
    return time.perf_counter() - started, latencies


def listings(url: str, token: str, total: int, rounds: int) -> None:
    """p50/p99 of GET /caliper/events pages: each filter alone and combined, deep offsets, and
    filters that match nothing."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    day = 24 * 60  # events a day (one a minute)

    def date(n: int) -> str:
        return event_time(n)[:10]

    learner = {"actorId": "https://example.edu/users/7"}
    queries = {"newest 100": {}, "100 at offset total/2": {"offset": total // 2},
               "100 at offset total-100": {"offset": max(total - 100, 0)},
               "one learner's 100": learner, "one learner's by actorEmail": {"actorEmail": "user7@example.edu"},
               "one sensor's 100": {"sensor": "https://example.edu/sensors/1"},
               "one sensor's at offset total/2": {"sensor": "https://example.edu/sensors/1", "offset": total // 2},
               "startDate (the last 10%)": {"startDate": date(total * 9 // 10)},
               "endDate (the first 10%)": {"endDate": date(total // 10)},
               "startDate+endDate (a day)": {"startDate": date(total // 2), "endDate": date(total // 2)},
               "a learner in a week": {**learner, "startDate": date(total // 2), "endDate": date(total // 2 + 6 * day)},
               "one type's 100 (a fifth)": {"eventType": "GradeEvent"},
               "one type's at offset total/10": {"eventType": "GradeEvent", "offset": total // 10},
               "a learner's of one type": {**learner, "eventType": "MediaEvent"},
               "actorEmail in upper case": {"actorEmail": "USER7@EXAMPLE.EDU"},
               "none: unknown actorId": {"actorId": "https://example.edu/users/nobody"},
               "none: a type never sent": {"eventType": "ToolUseEvent"},
               "none: after the last event": {"startDate": date(total + 2 * day)}}
    for name, params in queries.items():
        latencies = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = session.get(f"{url}/caliper/events", params={"limit": 100, **params}, timeout=120)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code}: {response.text[:500]}")
        ordered = sorted(latencies)
        print(f"GET /caliper/events {name:<32} p50 {statistics.median(ordered) * 1000:7.1f} ms   "
              f"p99 {ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000:7.1f} ms   "
              f"({response.json()['pagination']['total']} matching)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events to send (default 2000)")
    parser.add_argument("--size", type=int, default=100, help="events per envelope (default 100)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients (default 2)")
    parser.add_argument("--url", help="base URL of a running LRS (default: start one in-process)")
    parser.add_argument("--client-id", default=KEY)
    parser.add_argument("--client-secret", default=SECRET)
    parser.add_argument("--list-rounds", type=int, default=20, help="GETs per listing (default 20)")
    args = parser.parse_args()

    with (remote_server(args.url, args.client_id, args.client_secret) if args.url else local_server()) \
            as (url, client_id, secret):
        token = access_token(url, client_id, secret)
        seconds, latencies = run(url, token, args.events, args.size, args.clients)
        ordered = sorted(latencies)
        print(f"{args.events} Caliper events in {len(latencies)} envelopes of {args.size}, {args.clients} clients, "
              f"{'in-process server, embedded store' if not args.url else args.url}")
        print(f"{args.events / seconds:10.1f} events/s   envelope p50 {statistics.median(ordered) * 1000:7.1f} ms   "
              f"p99 {ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000:7.1f} ms")
        listings(url, token, args.events, args.list_rounds)


if __name__ == "__main__":
    main()
