"""The engine against a real store and an in-memory target: narrowing, dead letters, retries,
gaps left by concurrent writers, leases and filters."""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace

import pytest

from lrs.forwarding.contract import Outcome
from lrs.forwarding.dead_letters import DeadLetters
from lrs.forwarding.engine import EngineSettings, Forwarder
from lrs.forwarding.filters import StatementFilter
from lrs.forwarding.parked import Parked
from lrs.forwarding.scan import Scanner
from lrs.forwarding.state import TargetStates
from lrs.forwarding.status import forwarding_status
from lrs.statements import utc_now
from lrs.xapi.timestamps import format_timestamp
from tests.forwarding.fakes import RecordingTarget
from tests.forwarding.harness import VERB, statement, voiding

SETTINGS = EngineSettings(poll=0.01, lease=5.0, retry_base=1.0, retry_max=60.0, gap_grace=30.0, confirm_conflict=0)


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def lrs(app):
    return app.extensions["lrs"]


def store(lrs, statements: list[dict], source: str = "xapi") -> list[str]:
    return lrs.statements.store(statements, authority=lrs.default_authority("test"), version="1.0.3", source=source)


def forwarder(lrs, target, owner: str = "w1", clock=None, settings: EngineSettings = SETTINGS) -> Forwarder:
    return Forwarder(target, lrs.db, lrs.statement_store.collection, lrs.attachments, settings, owner,
                     clock or Clock())


def drain(fwd: Forwarder, cycles: int = 50) -> None:
    for _ in range(cycles):
        if fwd.run_once().kind == "idle":
            return
    raise AssertionError("the forwarder never went idle")


def test_batches_in_seq_order_and_checkpoint_after_the_last(lrs):
    ids = store(lrs, [statement(n) for n in range(25)])
    target = RecordingTarget(batch_size=10)
    drain(forwarder(lrs, target))
    assert target.requests == [ids[:10], ids[10:20], ids[20:]]
    state = TargetStates(lrs.db).get("memory")
    assert state.checkpoint == 25 and state.doc["delivered"] == 25 and state.gaps == ()


def test_a_refused_batch_is_narrowed_down_to_the_refused_statements(lrs):
    ids = store(lrs, [statement(n) for n in range(16)])
    target = RecordingTarget(batch_size=16, refuse={ids[3]: 400, ids[11]: 409})
    drain(forwarder(lrs, target))
    assert set(target.received) == set(ids) - {ids[3], ids[11]}
    letters = {letter["statement_id"]: letter for letter in DeadLetters(lrs.db).page("memory")}
    assert set(letters) == {ids[3], ids[11]}
    assert letters[ids[3]]["status"] == 400 and letters[ids[11]]["status"] == 409
    assert len(target.requests) <= 1 + 2 * 2 * 4  # about 2 log2(n) requests per refused statement


def test_narrowing_resumes_where_a_rate_limit_interrupted_it(lrs):
    """Against a target that answers 429 to every third request, restarting the narrowing from
    the whole batch would never end; resuming from the unresolved parts does."""
    ids = store(lrs, [statement(n) for n in range(32)])
    target, clock = RecordingTarget(batch_size=32, refuse={ids[0]: 400, ids[1]: 400}, fail_every=3), Clock()
    fwd = forwarder(lrs, target, clock=clock)
    for _ in range(60):
        cycle = fwd.run_once()
        if cycle.kind == "idle":
            break
        clock.advance(cycle.wait)
    assert set(target.received) == set(ids[2:])
    assert {letter["statement_id"] for letter in DeadLetters(lrs.db).page("memory")} == {ids[0], ids[1]}
    assert TargetStates(lrs.db).get("memory").doc["delivered"] == 30


def test_a_conflict_that_passes_is_not_dead_lettered(lrs):
    """A 409 while another request writes the same statement on the target is asked again."""
    [sid] = store(lrs, [statement(0)])
    target = RecordingTarget(failures=[Outcome.rejected(409, "conflict: being written concurrently")])
    drain(forwarder(lrs, target))
    assert list(target.received) == [sid] and target.requests == [[sid], [sid]]
    assert DeadLetters(lrs.db).count("memory") == 0


def test_conflicts_from_an_http_target_say_so(lrs):
    from lrs.forwarding.contract import classify_http

    outcome = classify_http(409, '{"error": "exists"}')
    assert outcome.kind == "rejected" and outcome.detail.startswith("conflict: the target already has")


def test_a_failing_target_backs_off_exponentially_and_nothing_is_dead_lettered(lrs):
    ids = store(lrs, [statement(n) for n in range(3)])
    failures = [Outcome.retry("HTTP 503", 503), Outcome.retry("timeout"), RuntimeError("bug in a plugin"),
                Outcome.retry("HTTP 429", 429, retry_after=20.0)]
    target, clock = RecordingTarget(failures=failures), Clock()
    fwd = forwarder(lrs, target, clock=clock)
    waits = []
    for _ in failures:
        cycle = fwd.run_once()
        assert cycle.kind == "backoff"
        waits.append(cycle.wait)
        assert fwd.run_once().kind == "backoff"  # too early: no request
        clock.advance(cycle.wait)
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4 and waits[3] >= 20
    state = TargetStates(lrs.db).get("memory")
    assert state.attempts == 4 and state.doc["last_error"]["status"] == 429
    drain(fwd)
    assert set(target.received) == set(ids) and len(target.requests) == 5
    assert TargetStates(lrs.db).get("memory").attempts == 0 and DeadLetters(lrs.db).count("memory") == 0


def run_until_backoff(fwd: Forwarder, cycles: int = 20):
    for _ in range(cycles):
        cycle = fwd.run_once()
        if cycle.kind in ("backoff", "idle"):
            return cycle
    raise AssertionError("neither backoff nor idle")


def test_a_target_refusing_every_statement_is_paused_not_dead_lettered_and_resumes_when_fixed(lrs, caplog):
    """Ten statements refused one by one with one status, then the round's last refused too: the
    target refuses everything (a version it does not speak), so nothing is dead-lettered."""
    ids = store(lrs, [statement(n) for n in range(100)])
    target, clock = RecordingTarget(batch_size=50, refuse_all=400), Clock()
    fwd = forwarder(lrs, target, clock=clock)
    cycle = run_until_backoff(fwd)
    assert cycle.kind == "backoff" and DeadLetters(lrs.db).count("memory") == 0
    assert len(target.requests) <= 2 * 10 + 7  # narrowing 50 to ten single statements, and one more
    state = TargetStates(lrs.db).get("memory")
    assert state.checkpoint == 0 and state.doc["last_error"]["paused"] == "refusing"
    assert state.doc["last_error"]["status"] == 400 and "refuses every statement" in state.doc["last_error"]["message"]
    assert any(r.levelname == "ERROR" and "memory" in r.getMessage() and "HTTP 400" in r.getMessage()
               for r in caplog.records)
    sent = len(target.requests)
    assert fwd.run_once().kind == "backoff" and len(target.requests) == sent  # paused: nothing sent meanwhile
    clock.advance(cycle.wait)
    cycle = run_until_backoff(fwd)  # still refusing: paused again, after as few requests
    assert cycle.kind == "backoff" and DeadLetters(lrs.db).count("memory") == 0
    assert TargetStates(lrs.db).get("memory").attempts == 2
    target.refuse_all = None  # the operator fixed the target's configuration and restarted the worker:
    drain(forwarder(lrs, target, clock=clock))  # retried at once, not after the backoff
    assert set(target.received) == set(ids) and DeadLetters(lrs.db).count("memory") == 0
    state = TargetStates(lrs.db).get("memory")
    assert state.doc["last_error"] is None and not state.doc.get("refusing_since")


def test_a_run_of_bad_statements_among_good_ones_is_still_dead_lettered(lrs):
    """Twelve refused in a row (more than the ten that make the target suspect), but the round's
    last statement gets through: they are bad statements, not a target refusing everything."""
    ids = store(lrs, [statement(n) for n in range(40)])
    target = RecordingTarget(batch_size=40, refuse={sid: 400 for sid in ids[:12]})
    drain(forwarder(lrs, target))
    assert {letter["statement_id"] for letter in DeadLetters(lrs.db).page("memory")} == set(ids[:12])
    assert set(target.received) == set(ids[12:])
    assert TargetStates(lrs.db).get("memory").doc["last_error"] is None


def test_a_target_refusing_everything_for_longer_than_the_retry_age_gets_dead_letters_again(lrs):
    ids = store(lrs, [statement(n) for n in range(30)])
    target, clock = RecordingTarget(batch_size=30, refuse_all=422), Clock()
    fwd = forwarder(lrs, target, clock=clock, settings=replace(SETTINGS, max_retry_age=3600))
    assert run_until_backoff(fwd).kind == "backoff" and DeadLetters(lrs.db).count("memory") == 0
    clock.advance(3600)
    drain(fwd)
    assert {letter["statement_id"] for letter in DeadLetters(lrs.db).page("memory")} == set(ids)
    assert target.received == {}
    assert TargetStates(lrs.db).get("memory").checkpoint == 30


def test_refusals_of_single_statements_never_pause_when_the_rule_is_off(lrs):
    ids = store(lrs, [statement(n) for n in range(20)])
    target = RecordingTarget(batch_size=20, refuse_all=400)
    drain(forwarder(lrs, target, settings=replace(SETTINGS, pause_after=0)))
    assert DeadLetters(lrs.db).count("memory") == 20 and len(ids) == 20


def test_refusals_count_across_rounds_of_one_statement_until_a_delivery_or_another_status(lrs):
    """Rounds of one statement (a trickle) never reached the ten in a row within a round, so a
    target refusing each was never paused. The count is in the target's state: a restarted worker
    goes on with it; a statement delivered, or a refusal with another status, starts it again."""
    ids = store(lrs, [statement(n) for n in range(30)])
    refuse = {sid: 400 for sid in ids[:9] + ids[19:]} | {sid: 422 for sid in ids[9:18]}
    target, clock = RecordingTarget(batch_size=1, refuse=refuse), Clock()
    for _ in range(5):
        forwarder(lrs, target, clock=clock).run_once()
    assert TargetStates(lrs.db).get("memory").doc["refusals"] == {"count": 5, "status": 400}
    assert forwarding_status(lrs, [target])[0]["refusals"] == {"count": 5, "status": 400}
    fwd = forwarder(lrs, target, clock=clock)  # a restarted worker
    for _ in range(4 + 9 + 1 + 9):  # 400 to the 9th, 422 nine times, one delivered, 400 nine times
        assert fwd.run_once().kind == "delivered"
    state = TargetStates(lrs.db).get("memory")
    assert state.doc["refusals"] == {"count": 9, "status": 400} and state.doc["last_error"] is None
    assert DeadLetters(lrs.db).count("memory") == 27 and set(target.received) == {ids[18]}
    cycle = fwd.run_once()  # the tenth 400 in a row: refusing everything
    state = TargetStates(lrs.db).get("memory")
    assert cycle.kind == "backoff" and state.doc["last_error"]["paused"] == "refusing"
    assert state.doc["last_error"]["message"].startswith(
        "the target refuses every statement: 10 in a row were each refused alone with HTTP 400; paused")
    assert DeadLetters(lrs.db).count("memory") == 27 and state.checkpoint == 28  # the tenth is kept
    target.refuse.clear()  # fixed: the next attempt delivers the rest and the count starts again
    clock.advance(cycle.wait)
    drain(fwd)
    state = TargetStates(lrs.db).get("memory")
    assert set(target.received) == {ids[18], *ids[28:]} and state.doc["refusals"] is None
    assert state.doc["last_error"] is None


def test_a_size_limit_learnt_from_a_413_outlives_the_worker_until_a_day_passes_or_the_endpoint_changes(lrs):
    """It was kept in the worker's memory: each restarted worker sent batch_size again, paying
    the refused requests (32, 16, 8) to learn it anew."""
    clock = Clock()

    def requests_of_a_new_worker(statements: int, address: str = "https://lrs.example.org/xapi") -> list[int]:
        store(lrs, [statement(n) for n in range(statements)])
        target = RecordingTarget(batch_size=32, max_batch=5, address=address)
        drain(forwarder(lrs, target, clock=clock))
        return [len(request) for request in target.requests]

    assert requests_of_a_new_worker(32)[:4] == [32, 16, 8, 4]
    assert TargetStates(lrs.db).get("memory").doc["batch_limit"]["size"] == 4
    assert forwarding_status(lrs, [RecordingTarget(batch_size=32, address="https://lrs.example.org/xapi")])[0][
        "batch_limit"]["statements"] == 4
    assert requests_of_a_new_worker(12) == [4, 4, 4]  # restarted: no 413
    assert requests_of_a_new_worker(8, "https://lrs2.example.org/xapi")[:3] == [8, 4, 4]  # another endpoint
    assert requests_of_a_new_worker(8, "https://lrs2.example.org/xapi") == [4, 4]  # learnt there now
    clock.advance(24 * 3600)
    assert requests_of_a_new_worker(8, "https://lrs2.example.org/xapi")[:2] == [8, 4]  # a day later: forgotten
    assert DeadLetters(lrs.db).count("memory") == 0


def test_a_backfill_resends_what_an_interrupted_round_had_delivered(lrs):
    """A round cut short by a 429 records what it got done; a backfill to that very checkpoint
    (the target was wiped, say) must not keep skipping those statements."""
    ids = store(lrs, [statement(n) for n in range(4)])
    target, clock = RecordingTarget(batch_size=4, refuse={ids[0]: 400}, fail_every=5), Clock()
    fwd = forwarder(lrs, target, clock=clock)
    assert fwd.run_once().kind == "backoff"  # [0-3], [0, 1], [0] refused; [1] delivered; [2, 3] a 429
    assert ids[1] in target.received and TargetStates(lrs.db).get("memory").progress.done
    target.received.clear()
    target.refuse.clear()
    target.fail_every = 0
    since = format_timestamp(utc_now() - dt.timedelta(hours=1))
    checkpoint = Scanner(lrs.statement_store.collection, grace_seconds=0).seq_at(since)
    assert checkpoint == TargetStates(lrs.db).get("memory").checkpoint
    assert TargetStates(lrs.db).rewind("memory", checkpoint)
    drain(fwd)
    assert set(target.received) == set(ids)


def test_a_statement_set_aside_is_not_resent_once_the_filter_no_longer_wants_it(lrs):
    """The filter changed between two runs: the statement set aside under the old one is not sent."""
    other = "http://example.com/verbs/other"
    ids = store(lrs, [statement(0), statement(1, verb=other), statement(2), statement(3)])
    clock = Clock()
    before = RecordingTarget(batch_size=4, broken={ids[1]})
    fwd = forwarder(lrs, before, clock=clock)
    for _ in range(30):
        if fwd.run_once().kind == "idle":
            break
        clock.advance(SETTINGS.retry_max)
    assert set(before.received) == {ids[0], ids[2], ids[3]} and Parked(lrs.db).count("memory") == 1
    after = RecordingTarget(batch_size=4, filter=StatementFilter(verbs=(VERB,)))  # the restart
    clock.advance(SETTINGS.retry_max)
    drain(forwarder(lrs, after, clock=clock))
    assert ids[1] not in after.sent_ids() and Parked(lrs.db).count("memory") == 0


def test_dead_letters_replay_and_stop_being_dead_when_delivered(lrs):
    ids = store(lrs, [statement(n) for n in range(4)])
    target = RecordingTarget(refuse={ids[1]: 400})
    fwd = forwarder(lrs, target)
    drain(fwd)
    letters = DeadLetters(lrs.db)
    assert [letter["statement_id"] for letter in letters.page("memory")] == [ids[1]]
    target.refuse.clear()  # the operator fixed the target
    assert letters.mark_for_replay("memory") == 1
    drain(fwd)
    assert ids[1] in target.received and letters.count("memory") == 0
    assert TargetStates(lrs.db).get("memory").doc["delivered"] == 4


def test_a_statement_written_late_below_the_checkpoint_is_not_skipped(shared_store, make_app, monkeypatch):
    """Batch A allocates its seqs, then batch B is stored and forwarded before A becomes
    visible: the checkpoint passes A's seqs, so they must be remembered and sent later. (Only
    on MongoDB: the embedded store allocates and inserts a batch under one lock.)"""
    lrs = make_app(mongo_uri=shared_store).extensions["lrs"]
    backend = lrs.statement_store
    allocated, release = threading.Event(), threading.Event()
    original = type(backend).allocate_seq

    def slow_first_allocation(self, count, now):
        allocation = original(self, count, now)
        if not allocated.is_set():
            allocated.set()
            release.wait(10)
        return allocation

    monkeypatch.setattr(type(backend), "allocate_seq", slow_first_allocation)
    batch_a = [statement(n) for n in range(3)]
    writer = threading.Thread(target=store, args=(lrs, batch_a), daemon=True)
    writer.start()
    try:
        assert allocated.wait(10)
        ids_b = store(lrs, [statement(n) for n in range(3, 5)])
        target = RecordingTarget()
        fwd = forwarder(lrs, target)
        drain(fwd)
        assert set(target.received) == set(ids_b)
        assert [gap.seq for gap in TargetStates(lrs.db).get("memory").gaps] == [1, 2, 3]
    finally:
        release.set()
        writer.join(10)
    drain(fwd)
    assert set(target.received) == set(ids_b) | {s["id"] for s in batch_a}
    assert TargetStates(lrs.db).get("memory").gaps == ()


def test_a_seq_whose_write_failed_is_given_up_after_the_grace_period(lrs):
    store(lrs, [statement(0)])
    lrs.statement_store.allocate_seq(2, utc_now())  # a writer that crashed before inserting anything
    last = store(lrs, [statement(3)])
    target, clock = RecordingTarget(), Clock()
    fwd = forwarder(lrs, target, clock=clock)
    drain(fwd)
    assert last[0] in target.received
    assert [gap.seq for gap in TargetStates(lrs.db).get("memory").gaps] == [2, 3]
    clock.advance(SETTINGS.gap_grace - 1)
    drain(fwd)
    assert len(TargetStates(lrs.db).get("memory").gaps) == 2
    clock.advance(2)
    drain(fwd)
    assert TargetStates(lrs.db).get("memory").gaps == ()


def test_one_worker_at_a_time_and_a_dead_worker_is_fenced_off(lrs):
    ids = store(lrs, [statement(n) for n in range(5)])
    clock = Clock()
    first, second = RecordingTarget(batch_size=2), RecordingTarget(batch_size=2)
    a, b = forwarder(lrs, first, "a", clock), forwarder(lrs, second, "b", clock)
    assert a.run_once().kind == "delivered"
    assert b.run_once().kind == "busy"
    state_seen_by_a = TargetStates(lrs.db).get("memory")
    clock.advance(SETTINGS.lease + 1)  # a "died" holding its lease
    drain(b)
    assert set(first.received) | set(second.received) == set(ids)
    stale = TargetStates(lrs.db).advance(state_seen_by_a, "a", 99, [], 0, clock())
    assert stale is False and TargetStates(lrs.db).get("memory").checkpoint == 5


def test_filters_pick_verbs_activity_prefixes_actors_and_sources(lrs):
    wanted = [statement(1, activity="http://example.com/course/a/"),
              statement(2, activity="http://example.com/course/a/", verb="http://example.com/verbs/other")]
    store(lrs, wanted + [statement(3, activity="http://example.com/course/b/")])
    store(lrs, [statement(4, activity="http://example.com/course/a/")], source="h5p")
    only_a = StatementFilter(activity_prefixes=("http://example.com/course/a/",), sources=("xapi",))
    target = RecordingTarget(filter=only_a)
    drain(forwarder(lrs, target))
    assert set(target.received) == {s["id"] for s in wanted}
    by_verb = RecordingTarget(name="verbs", filter=StatementFilter.from_config(
        {"verbs": ["http://example.com/verbs/other"], "actors": ["mailto:learner2@EXAMPLE.com"]}))
    drain(forwarder(lrs, by_verb))
    assert set(by_verb.received) == {wanted[1]["id"]}


def test_voiding_statements_are_forwarded_like_any_other(lrs):
    ids = store(lrs, [statement(0)])
    void = voiding(ids[0])
    store(lrs, [void])
    target = RecordingTarget()
    drain(forwarder(lrs, target))
    assert list(target.received) == [ids[0], void["id"]]


def test_a_new_target_can_start_now_or_at_a_point_in_time(lrs):
    old = store(lrs, [statement(n) for n in range(3)])
    target = RecordingTarget(since="now")
    fwd = forwarder(lrs, target)
    drain(fwd)
    assert target.received == {}
    new = store(lrs, [statement(5)])
    drain(fwd)
    assert list(target.received) == new
    TargetStates(lrs.db).rewind("memory", fwd.scanner.seq_at(format_timestamp(utc_now() - dt.timedelta(hours=1))))
    drain(fwd)
    assert set(target.received) == set(old) | set(new)


class RevealsWhileScanning:
    """The statements collection, except that a batch is stored right after the scan has read
    its candidates and before it looks for the highest visible seq: a writer racing the scan."""

    def __init__(self, lrs, statements: list[dict]):
        self.collection, self.lrs, self.statements = lrs.statement_store.collection, lrs, statements

    def __getattr__(self, name):
        return getattr(self.collection, name)

    def find_one(self, *args, **kwargs):
        if self.statements:
            store(self.lrs, self.statements)
            self.statements = []
        return self.collection.find_one(*args, **kwargs)


@pytest.mark.parametrize("wanted", [StatementFilter(), StatementFilter(verbs=("http://example.com/verbs/x",))])
def test_statements_revealed_during_a_scan_are_not_skipped(lrs, wanted):
    first = store(lrs, [statement(n, verb="http://example.com/verbs/x") for n in range(3)])
    late = [statement(n, verb="http://example.com/verbs/x") for n in range(3, 6)]
    target = RecordingTarget(batch_size=10, filter=wanted)
    fwd = forwarder(lrs, target)
    fwd.scanner.statements = RevealsWhileScanning(lrs, late)
    drain(fwd)
    assert set(target.received) == set(first) | {s["id"] for s in late}
