"""The console in a real browser (headless Chromium via Playwright) against live `lrs serve`
processes: sign in by keyboard, filter and page statements, open and void one, create a
credential and use it from TinCanPython, revoke it (then 401), replay a dead letter against a
live second LRS, see that LRS paused for a wrong secret and resumed; every page checked with axe-core at 360 px and photographed.

One module-wide pair of servers and one browser keep the run short; the tests run in order.
"""
from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from tincan import Activity, Agent, RemoteLRS, Statement, Verb

from lrs.server import free_port, spawned
from tests.console.browser import accessibility_violations, screenshot

ADMIN = ("admin", "change-me")
XAPI = {"X-Experience-API-Version": "1.0.3"}
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
CONFLICTING = str(uuid.uuid4())  # stored differently on the target first: forwarding it is refused (409)
TIMEOUT = 30


def statement(n: int, mbox: str, verb: str = COMPLETED, statement_id: str | None = None) -> dict:
    return {"id": statement_id or str(uuid.uuid4()), "actor": {"mbox": f"mailto:{mbox}", "name": mbox.split("@")[0]},
            "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
            "object": {"id": f"http://example.com/courses/{n}", "definition": {"name": {"en-US": f"Course {n}"}}}}


def wait_for(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def start_target(stack: contextlib.ExitStack, port: int, secret: str = ADMIN[1]) -> str:
    env = {"LRS_MONGO_URI": "", "LRS_DATA_DIR": "", "LRS_ADMIN_KEY": ADMIN[0], "LRS_ADMIN_SECRET": secret,
           "LRS_LOG_LEVEL": "WARNING"}
    endpoint, _ = stack.enter_context(spawned(env, port=port, timeout=TIMEOUT))
    return endpoint


def restart_replica(lrs: dict[str, Any], secret: str = ADMIN[1]) -> None:
    """The replica stopped and started again on an empty in-memory store, its admin with `secret`."""
    lrs["replica_stack"].close()
    lrs["replica_stack"] = lrs["stack"].enter_context(contextlib.ExitStack())
    start_target(lrs["replica_stack"], lrs["replica_port"], secret)


@pytest.fixture(scope="module")
def lrs(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """This LRS (forwarding in process to `replica`) and the replica, a second live LRS."""
    target_port = free_port()
    with contextlib.ExitStack() as stack:
        replica_stack = stack.enter_context(contextlib.ExitStack())
        replica = start_target(replica_stack, target_port)
        requests.post(f"{replica}/statements", json=statement(0, "eve@example.com", statement_id=CONFLICTING),
                      auth=ADMIN, headers=XAPI, timeout=TIMEOUT).raise_for_status()
        target = {"name": "replica", "endpoint": replica, "batch_size": 50,
                  "auth": {"type": "basic", "username": ADMIN[0], "password": ADMIN[1]}}
        env = {"LRS_MONGO_URI": "", "LRS_DATA_DIR": "", "LRS_ADMIN_KEY": ADMIN[0], "LRS_ADMIN_SECRET": ADMIN[1],
               "LRS_LOG_LEVEL": "WARNING", "LRS_PLUGINS": "forward_xapi", "LRS_FORWARD_IN_PROCESS": "true",
               "LRS_FORWARD_XAPI_TARGETS": json.dumps([target]), "LRS_FORWARD_POLL_SECONDS": "0.2",
               "LRS_FORWARD_RETRY_BASE_SECONDS": "0.2", "LRS_FORWARD_RETRY_MAX_SECONDS": "1"}
        log = stack.enter_context(open(tmp_path_factory.mktemp("console") / "serve.log", "w"))
        endpoint, _ = stack.enter_context(spawned(env, stdout=log, timeout=TIMEOUT))
        seeded = [statement(0, "eve@example.com", ATTEMPTED, CONFLICTING)]
        seeded += [statement(n, "ada@example.com" if n % 3 else "bob@example.com", COMPLETED if n % 2 else ATTEMPTED)
                   for n in range(1, 41)]
        requests.post(f"{endpoint}/statements", json=seeded, auth=ADMIN, headers=XAPI,
                      timeout=TIMEOUT).raise_for_status()
        yield {"endpoint": endpoint, "base": endpoint.removesuffix("/xapi"), "replica": replica,
               "replica_port": target_port, "replica_stack": replica_stack, "stack": stack}


@pytest.fixture(scope="module")
def page(browser, axe_script, lrs) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.add_init_script(script=axe_script)  # injected by the browser, so the CSP stays strict
    context.set_default_timeout(TIMEOUT * 1000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations before voiding, revoking
    yield page
    context.close()


@pytest.fixture(scope="module")
def check(page) -> Callable[[str], None]:
    """Check the page shown (axe, no CSP violation, fits 360 px) and photograph it as `name`."""
    csp_violations: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text
            and csp_violations.append(message.text))

    def checked(name: str) -> None:
        assert accessibility_violations(page) == [], name
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{name} is wider than 360 px"
        assert csp_violations == [], csp_violations
        screenshot(page, name)

    return checked


def test_sign_in_by_keyboard_filter_page_open_and_void(page, check, lrs):
    page.goto(lrs["base"] + "/console/")
    assert page.url.startswith(lrs["base"] + "/console/sign-in")
    check("1-sign-in")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/statements*")
    assert page.locator("tbody tr").count() == 25
    check("2-statements")

    page.fill("#f-agent", "ada@example.com")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**agent=ada*")
    first = page.locator("tbody tr").count()
    assert first == 25 and page.locator("tbody td:has-text('bob')").count() == 0
    page.click("a[rel=next]")
    page.wait_for_url("**more=*")
    assert page.locator("tbody tr").count() == 27 - 25  # ada has 27 of the 41 statements
    check("3-statements-more")

    page.locator("tbody tr a").first.click()
    page.wait_for_url("**/console/statements/*")
    statement_id = page.url.rsplit("/", 1)[-1]
    assert statement_id in page.locator("#statement-json").inner_text()
    check("4-statement")
    page.click("button:has-text('Void this statement')")
    page.wait_for_selector("p.notice:has-text('Voided by statement')")
    assert page.locator("text=voided").first.is_visible()
    gone = requests.get(f"{lrs['endpoint']}/statements", params={"statementId": statement_id}, auth=ADMIN,
                        headers=XAPI, timeout=TIMEOUT)
    assert gone.status_code == 404
    assert requests.get(f"{lrs['endpoint']}/statements", params={"voidedStatementId": statement_id}, auth=ADMIN,
                        headers=XAPI, timeout=TIMEOUT).status_code == 200


def test_create_a_credential_use_it_from_tincan_and_revoke_it(page, check, lrs):
    page.goto(lrs["base"] + "/console/credentials")
    check("5-credentials")
    page.fill("#label", "Course app")
    page.check("input[value='statements/write']")
    page.check("input[value='statements/read']")
    page.click("button:has-text('Create')")
    page.wait_for_selector("#new-secret")
    key, secret = page.inner_text("#new-key").strip(), page.inner_text("#new-secret").strip()
    check("6-credential-created")
    page.reload()  # sends the form again, as Back or a reload does after a confirmation
    page.wait_for_selector("text=This form was sent already")
    made = requests.get(f"{lrs['base']}/admin/credentials", auth=ADMIN, timeout=TIMEOUT).json()["credentials"]
    assert [c["label"] for c in made].count("Course app") == 1

    client = RemoteLRS(endpoint=lrs["endpoint"] + "/", version="1.0.3", username=key, password=secret)
    saved = client.save_statement(Statement(actor=Agent(mbox="mailto:app@example.com"),
                                            verb=Verb(id=COMPLETED), object=Activity(id="http://example.com/app")))
    assert saved.success, saved.data
    assert client.retrieve_statement(saved.content.id).success

    page.goto(f"{lrs['base']}/console/credentials/{key}")
    check("6b-credential-edit")
    page.fill("#label", "Course app (write only)")
    page.uncheck("input[value='statements/read']")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/console/credentials")
    assert page.locator("td:has-text('Course app (write only)')").count() == 1
    assert client.retrieve_statement(saved.content.id).response.status == 403

    page.click(f"button[aria-label='Revoke {key}']")
    page.wait_for_url("**/console/credentials")
    refused = client.save_statement(Statement(actor=Agent(mbox="mailto:app@example.com"),
                                              verb=Verb(id=COMPLETED), object=Activity(id="http://example.com/app")))
    assert not refused.success and refused.response.status == 401


def test_a_refused_form_leads_back_to_its_page(page, check, lrs):
    """The pages sent no Referer at all (Referrer-Policy: no-referrer), so Back on a refusal
    always led to the statements, away from the form or the filters to correct."""
    page.goto(lrs["base"] + "/console/credentials")
    page.fill("#label", "no scope chosen")
    page.click("button:has-text('Create')")
    page.wait_for_selector("text=at least one scope")
    check("6c-refused")
    page.click("main a:has-text('Back')")
    page.wait_for_url("**/console/credentials")
    page.goto(lrs["base"] + "/console/statements?verb=http://example.com/verbs/x")
    page.fill("#f-registration", "not-a-uuid")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("text=registration")
    page.click("main a:has-text('Back')")
    page.wait_for_function("location.search.startsWith('?verb=http')")


def test_replay_a_dead_letter_against_a_live_second_lrs(page, check, lrs):
    def dead_letters() -> int:
        status = requests.get(f"{lrs['base']}/admin/forwarding", auth=ADMIN, timeout=TIMEOUT).json()["targets"][0]
        return status["dead_letters"]

    wait_for(dead_letters, "the conflicting statement dead-lettered")
    page.goto(lrs["base"] + "/console/forwarding")
    check("7-forwarding")
    assert page.locator(f"text={CONFLICTING}").count() >= 1
    # The replica forgets the conflicting statement (it restarts on its in-memory store), then replay.
    restart_replica(lrs)
    page.click(f"button[aria-label='Replay {CONFLICTING}']")
    page.wait_for_selector("p.notice:has-text('1 dead letter(s) of replica marked for replay')")

    def delivered() -> bool:
        found = requests.get(f"{lrs['replica']}/statements", params={"statementId": CONFLICTING}, auth=ADMIN,
                             headers=XAPI, timeout=TIMEOUT)
        return found.status_code == 200 and found.json()["verb"]["id"] == ATTEMPTED

    wait_for(delivered, "the replayed statement on the replica")
    wait_for(lambda: dead_letters() == 0, "no dead letter left")


def test_a_target_paused_for_its_configuration_says_so_and_how_it_resumes(page, check, lrs):
    """The page showed a paused target's last error only, like any outage's: nothing said that
    time will not fix it, nor what will. The replica comes back with another admin secret (401)."""
    def status() -> dict:
        return requests.get(f"{lrs['base']}/admin/forwarding", auth=ADMIN, timeout=TIMEOUT).json()["targets"][0]

    restart_replica(lrs, secret="rotated-secret")
    late = statement(99, "ada@example.com")
    requests.post(f"{lrs['endpoint']}/statements", json=late, auth=ADMIN, headers=XAPI,
                  timeout=TIMEOUT).raise_for_status()
    wait_for(lambda: status()["paused"] == "misconfigured", "the replica paused as misconfigured")
    page.goto(lrs["base"] + "/console/forwarding")
    check("7b-forwarding-paused")
    warning = page.locator("section .warning")
    assert page.locator("h2:has-text('replica (paused)')").count() == 1
    assert "Paused: misconfigured." in warning.inner_text() and "401, 403" in warning.inner_text()
    assert "To resume, fix the cause" in warning.inner_text() and "HTTP 401" in page.locator("main").inner_text()
    # Fixed on the target's side: the next retry delivers and the page says no more.
    restart_replica(lrs)
    wait_for(lambda: status()["paused"] is None and status()["backlog"] == 0, "the replica resumed")
    page.reload()
    assert page.locator("section .warning").count() == 0 and page.locator("h2:has-text('(paused)')").count() == 0


def test_chart_and_about_pages(page, check, lrs):
    page.goto(lrs["base"] + "/console/chart?by=verb")
    check("8-chart")
    assert page.locator("svg.chart rect").count() >= 2
    page.select_option("#c-by", "source")
    page.click("button:has-text('Show')")
    page.wait_for_url("**by=source*")
    assert page.locator("table th:has-text('xapi')").count() == 1
    page.goto(lrs["base"] + "/console/about")
    check("9-about")
    assert "change-me" not in page.content() and page.locator("text=forward_xapi").count() >= 1
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/console/sign-in")
    page.goto(lrs["base"] + "/console/credentials")
    assert "/console/sign-in" in page.url


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_values_from_clients_stay_text_on_every_page(page, lrs):
    """Names, descriptions, extensions, account names and labels that a client or an admin API
    caller chose are shown as text: no element of theirs exists in any page (CSP would stop an
    inline script anyway; this checks the escaping under it)."""
    hostile = {"actor": {"name": HOSTILE, "account": {"homePage": "javascript:alert(3)", "name": HOSTILE}},
               "verb": {"id": "http://example.com/verbs/x", "display": {"en-US": HOSTILE, "ar": "\u202e" + HOSTILE}},
               "object": {"id": "http://example.com/a?x=%3Cscript%3E", "definition": {
                   "name": {"en-US": HOSTILE}, "description": {"fr": HOSTILE},
                   "moreInfo": "javascript:alert(4)", "extensions": {"http://example.com/e": HOSTILE}}},
               "result": {"response": HOSTILE}}
    stored = requests.post(f"{lrs['endpoint']}/statements", json=hostile, auth=ADMIN, headers=XAPI, timeout=TIMEOUT)
    statement_id = stored.json()[0]
    made = requests.post(f"{lrs['base']}/admin/credentials", json={"scopes": ["all"], "label": HOSTILE, "key": "hostile"},
                         auth=ADMIN, timeout=TIMEOUT)
    assert made.status_code == 201
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.goto(lrs["base"] + "/console/sign-in")
    page.fill("#key", ADMIN[0])
    page.fill("#secret", ADMIN[1])
    page.click("main button[type=submit]")
    page.wait_for_url("**/console/statements")
    for path in ("/console/statements", f"/console/statements/{statement_id}", "/console/credentials",
                 "/console/about?key=hostile", "/console/forwarding", "/console/chart?by=verb",
                 "/console/credentials/hostile"):
        page.goto(lrs["base"] + path)
        assert page.locator("main img, main script, [onerror], a[href^='javascript:']").count() == 0, path
        if path.startswith(("/console/statements", "/console/credentials")) and path != "/console/credentials/hostile":
            assert "<script>alert(1)</script>" in page.inner_text("main"), path
    assert page.input_value("#label") == HOSTILE  # the credential's edit form
    assert dialogs == []
