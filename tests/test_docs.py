"""The plugin authors' guide and the README stay true to the code, in datasette's manner: every
hook and each of its arguments is documented in docs/writing-plugins.md, and the README's
settings table is the one generated from the settings the code declares (cog)."""
from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest
from cogapp import Cog

from lrs import hooks
from lrs.plugins import reference_settings
from tests.conftest import basic_auth

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name, value in vars(hooks).items()
               if name.startswith("lrs_") and hasattr(value, f"{hooks.PROJECT}_spec"))


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_section_with_its_arguments(name):
    arguments = ", ".join(inspect.signature(getattr(hooks, name)).parameters)
    heading = f"### `{name}({arguments})`"
    assert heading in (ROOT / "docs/writing-plugins.md").read_text(), f"docs/writing-plugins.md lacks {heading}"


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    missing = [setting.env for setting in reference_settings() if f"| `{setting.env}` |" not in readme]
    assert not missing, f"{missing} not in the README: run `cog -r README.md`"


def test_the_readme_settings_table_is_current():
    """Defaults and meanings too, not only names: regenerate with `cog -r README.md`."""
    assert Cog().main(["cog", "--check", str(ROOT / "README.md")]) == 0, "stale README: run `cog -r README.md`"


def readme_plugin() -> types.ModuleType:
    """The README's "Writing a plugin" example, as the module a plugin author would save."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Writing a plugin"):]
    source = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = types.ModuleType("my_adapter")
    exec(compile(source, "README.md (Writing a plugin)", "exec"), module.__dict__)  # noqa: S102 - our own README
    return module


def test_the_readme_plugin_example_authenticates_with_its_scope_and_answers_bad_bodies_with_400s(make_app):
    app = make_app(extra_plugins=(readme_plugin(),), public_url="https://lrs.example.org")
    lrs = app.extensions["lrs"]
    lrs.create_credential("lms", "lms-secret-1", ["my_adapter/write"])
    lrs.create_credential("xapi", "xapi-secret-1", ["all"])
    client = app.test_client()
    event = {"user": "ann", "thing": "http://example.com/course/1"}

    def post(body, key="lms:lms-secret-1"):
        return client.post("/my-events", json=body, headers={"Authorization": f"Bearer {key}"} if key else {})

    assert post(event, key=None).status_code == 401
    assert post(event, key="xapi:xapi-secret-1").status_code == 403  # scope `all` does not open it
    for body in ({}, [], {"user": "ann"}, {"user": 1, "thing": "x"}):
        refused = post(body)
        assert refused.status_code == 400 and refused.get_json()["error"].startswith("the body must be"), body
    not_an_iri = post({"user": "ann", "thing": "course 1"})
    assert not_an_iri.status_code == 400
    assert not_an_iri.get_json()["problems"][0]["field"] == "statement[0].object.id"
    stored = post(event)
    assert stored.status_code == 200
    [statement_id] = stored.get_json()["ids"]
    read = client.get(f"/xapi/statements?statementId={statement_id}",
                      headers={"Authorization": basic_auth(), "X-Experience-API-Version": "1.0.3"}).get_json()
    assert read["actor"]["account"] == {"homePage": "https://lrs.example.org", "name": "ann"}
    assert read["authority"]["account"]["name"] == "lms" and read["object"]["id"] == event["thing"]
