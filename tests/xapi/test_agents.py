import pytest

from lrs.xapi.agents import agent_keys, ifi_key


@pytest.mark.parametrize("agent, key", [
    ({"mbox": "mailto:Ann@Example.COM"}, "mbox:mailto:Ann@example.com"),
    ({"mbox_sha1sum": "ABCDEF0123" * 4}, "mbox_sha1sum:" + "abcdef0123" * 4),
    ({"openid": "http://openid.example.org/Ann"}, "openid:http://openid.example.org/Ann"),
    ({"account": {"homePage": "http://lms.example.com", "name": "a|b"}}, "account:http://lms.example.com|a|b"),
    ({"objectType": "Group", "mbox": "mailto:team@example.com", "member": []}, "mbox:mailto:team@example.com"),
    ({"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}, None),
])
def test_ifi_key(agent, key):
    assert ifi_key(agent) == key


def test_agent_keys_include_group_members():
    group = {"objectType": "Group", "openid": "http://openid.example.org/team",
             "member": [{"mbox": "mailto:a@example.com"}, {"account": {"homePage": "http://x.com", "name": "b"}}]}
    assert agent_keys(group) == ["openid:http://openid.example.org/team", "mbox:mailto:a@example.com",
                                 "account:http://x.com|b"]
    anonymous = {"objectType": "Group", "member": group["member"]}
    assert agent_keys(anonymous) == ["mbox:mailto:a@example.com", "account:http://x.com|b"]
    assert agent_keys({"mbox": "mailto:a@example.com"}) == ["mbox:mailto:a@example.com"]
