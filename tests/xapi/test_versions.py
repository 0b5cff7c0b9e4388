import pytest

from lrs.xapi.errors import XAPIValidationError
from lrs.xapi.versions import SUPPORTED_VERSIONS, is_v2, negotiate_version


@pytest.mark.parametrize("header, expected", [
    ("1.0.3", "1.0.3"), ("1.0.0", "1.0.3"), ("1.0.1", "1.0.3"), ("1.0", "1.0.3"), ("1.0.9", "1.0.3"),
    (" 1.0.3 ", "1.0.3"), ("2.0.0", "2.0.0"), ("2.0", "2.0.0"), ("2.0.1", "2.0.0"),
])
def test_supported_headers_answer_with_the_latest_patch(header, expected):
    assert negotiate_version(header) == expected


@pytest.mark.parametrize("header", [None, "", "  ", "0.9", "0.95", "1.1.0", "1.1", "2.1.0", "3.0.0", "1",
                                    "1.0.3.1", "v1.0.3", "1.0.x", "1.0.3-beta", "abc"])
def test_missing_malformed_or_unsupported_headers_are_refused(header):
    with pytest.raises(XAPIValidationError) as error:
        negotiate_version(header)
    assert error.value.path == "X-Experience-API-Version"


def test_supported_versions_and_families():
    assert SUPPORTED_VERSIONS == ("1.0.3", "2.0.0")
    assert is_v2("2.0.0") and not is_v2("1.0.3")
