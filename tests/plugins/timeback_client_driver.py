"""Drives the published `timeback-caliper` client (Python 3.12+) against this LRS and prints what
it saw as JSON. Run by tests/plugins/test_caliper_timeback_client.py in a venv of its own:
    python timeback_client_driver.py BASE_URL CLIENT_ID CLIENT_SECRET
Only the client's public API is used, as its README shows it.
"""
import asyncio
import json
import sys
import uuid

from timeback_caliper import (
    APIError,
    CaliperClient,
    CaliperEnvelope,
    QuestionAnsweredInput,
    QuestionGradedInput,
    QuestionObjectInput,
    QuestionSeenInput,
    ResponseGeneratedInput,
    ScoreGeneratedInput,
    TimebackActivityContext,
    TimebackActivityMetric,
    TimebackApp,
    TimebackUser,
    TimeSpentMetric,
)
from timeback_caliper.types import ActivityCompletedInput, TimeSpentInput
from timeback_common import TimebackProvider

SENSOR = "https://app.example.com/sensors/main"
APP = "https://app.example.com"
STUDENT = "https://app.example.com/users/student-1"
CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def activity_inputs(event_id: str) -> dict:
    return {"id": event_id, "actor": TimebackUser(id=STUDENT, email="student-1@example.com", role="student"),
            "object": TimebackActivityContext(id=APP + "/activities/fractions", subject="Math",
                                              app=TimebackApp(name="Fractions")),
            "eventTime": "2026-01-15T10:00:00.000Z"}


def raw_event(event_id: str, action: str = "Viewed") -> dict:
    return {"@context": CONTEXT, "id": event_id, "type": "ViewEvent", "profile": "ReadingProfile",
            "actor": {"id": STUDENT, "type": "Person"}, "action": action,
            "object": {"id": APP + "/docs/1", "type": "Document"}, "eventTime": "2026-01-16T09:00:00.000Z"}


def envelope(*events: dict) -> CaliperEnvelope:
    return CaliperEnvelope(sensor=SENSOR, sendTime="2026-01-16T09:00:01.000Z", dataVersion=CONTEXT, data=list(events))


async def sends(client: CaliperClient, ids: dict) -> dict:
    question = QuestionObjectInput(id=APP + "/questions/q1", name="1/2 + 1/4?")
    jobs = {
        "send_activity": await client.events.send_activity(SENSOR, ActivityCompletedInput(
            **activity_inputs(ids["activity"]), metrics=[TimebackActivityMetric(type="xpEarned", value=10),
                                                         TimebackActivityMetric(type="totalQuestions", value=4)])),
        "send_time_spent": await client.events.send_time_spent(SENSOR, TimeSpentInput(
            **activity_inputs(ids["time_spent"]), metrics=[TimeSpentMetric(type="active", value=1800)])),
        "send_question_seen": await client.events.send_question_seen(SENSOR, QuestionSeenInput(
            id=ids["seen"], actor=STUDENT, object=question, edApp=APP, eventTime="2026-01-15T10:01:00.000Z")),
        "send_question_answered": await client.events.send_question_answered(SENSOR, QuestionAnsweredInput(
            id=ids["answered"], actor=STUDENT, object=question, edApp=APP, eventTime="2026-01-15T10:02:00.000Z",
            generated=ResponseGeneratedInput(id=APP + "/responses/r1", attempt=APP + "/attempts/a1"))),
        "send_question_graded": await client.events.send_question_graded(SENSOR, QuestionGradedInput(
            id=ids["graded"], actor=APP, object=APP + "/attempts/a1", edApp=APP, eventTime="2026-01-15T10:03:00.000Z",
            generated=ScoreGeneratedInput(id=APP + "/scores/s1", scoreGiven=1, maxScore=1,
                                          attempt=APP + "/attempts/a1"))),
        "send": await client.events.send(SENSOR, [raw_event(ids["raw"])]),
        "send_envelope": await client.events.send_envelope(envelope(raw_event(ids["envelope"]))),
    }
    return {name: result.job_id for name, result in jobs.items()}


async def reads(client: CaliperClient, ids: dict, job_id: str) -> dict:
    good = await client.events.validate(envelope(raw_event(urn())))
    bad = await client.events.validate(envelope(raw_event(urn(), action="Smiled")))
    page = await client.events.list(limit=2, offset=0, sensor=SENSOR)
    second = await client.events.list(limit=2, offset=2, sensor=SENSOR)
    by_actor = await client.events.list(actor_id=STUDENT, start_date="2026-01-15", end_date="2026-01-15")
    # the same day as naive date-times, as datetime.utcnow().isoformat() gives them (UTC)
    by_naive_times = await client.events.list(actor_id=STUDENT, start_date="2026-01-15T00:00:00",
                                              end_date="2026-01-15T23:59:59.999999")
    by_email = await client.events.list(actor_email="student-1@example.com")
    streamed = await client.events.stream(limit=3, sensor=SENSOR).to_list()
    got = await client.events.get(ids["graded"])
    status = await client.jobs.get_status(job_id)
    waited = await client.jobs.wait_for_completion(job_id, timeout=10, poll_interval=0.2)
    try:
        await client.events.send(SENSOR, [raw_event(urn(), action="Smiled")])
        refused = None
    except APIError as error:
        refused = {"status": error.status_code, "message": str(error)}
    try:
        await client.events.get(urn())
        missing = None
    except APIError as error:
        missing = {"status": error.status_code, "message": str(error)}
    return {
        "validate": [good.status, bad.status, bad.errors],
        "list": [[e.external_id for e in page.events], page.pagination.model_dump(by_alias=True),
                 [e.external_id for e in second.events], second.pagination.current_page],
        "list_by_actor_and_dates": sorted(e.external_id for e in by_actor.events),
        "list_by_naive_times": sorted(e.external_id for e in by_naive_times.events),
        "list_by_email": sorted(e.external_id for e in by_email.events),
        "stream": [e.external_id for e in streamed],
        "get": got.model_dump(by_alias=True),
        "job_status": status.model_dump(by_alias=True),
        "wait_for_completion": waited.state,
        "refused": refused, "missing": missing,
    }


async def learnwith(base_url: str, client_id: str, secret: str, event_id: str) -> str | None:
    """The client's other platform: /caliper/v1p2, v1p2 scope, events rewritten to AggregationProfile."""
    provider = TimebackProvider(base_url=base_url, auth_url=base_url + "/oauth/token", client_id=client_id,
                                client_secret=secret, path_profile="LEARNWITH_AI",
                                scope="https://purl.imsglobal.org/spec/caliper/v1p2/scope/events.write")
    async with CaliperClient(platform="LEARNWITH_AI", provider=provider) as client:
        result = await client.events.send_activity(SENSOR, ActivityCompletedInput(
            **activity_inputs(event_id), metrics=[TimebackActivityMetric(type="xpEarned", value=5)]))
        return result.job_id


async def main(base_url: str, client_id: str, secret: str) -> None:
    ids = {name: urn() for name in ("activity", "time_spent", "seen", "answered", "graded", "raw", "envelope",
                                    "learnwith")}
    async with CaliperClient(base_url=base_url, auth_url=base_url + "/oauth/token", client_id=client_id,
                             client_secret=secret) as client:
        jobs = await sends(client, ids)
        report = await reads(client, ids, jobs["send_activity"])
    report.update(ids=ids, jobs=jobs, learnwith_job=await learnwith(base_url, client_id, secret, ids["learnwith"]))
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
