"""Twilio webhook signatures: the published helper every feature set checks its webhooks with."""

from __future__ import annotations

import pytest

from ngshare.plugin_api import is_valid_twilio_signature
from ngshare.twilio_signature import compute_signature

# -- the signature scheme -------------------------------------------------------------------------


TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


def test_the_signature_matches_twilios_published_examples():
    # the vectors of Twilio's request-validation docs and SDK test suites (token "12345")
    assert compute_signature("12345", TWILIO_URL, TWILIO_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert compute_signature("12345", TWILIO_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    port = "https://MyCompany.com:1234/myapp.php?foo=1&bar=2"
    assert compute_signature("12345", port, TWILIO_PARAMS) == "PCqOZm8cnu/L6+u5i5fuEd+Iac4="


def test_validation_tries_the_url_with_and_without_the_default_port():
    sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert is_valid_twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS, sig)
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert is_valid_twilio_signature("12345", with_port, TWILIO_PARAMS, sig)
    other_port = "https://mycompany.com:8443/myapp.php?foo=1&bar=2"
    assert not is_valid_twilio_signature("12345", other_port, TWILIO_PARAMS, sig)


@pytest.mark.parametrize(
    "token, url, params, sig",
    [
        ("12345", TWILIO_URL + "&baz=3", TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("12345", TWILIO_URL, TWILIO_PARAMS[:-1], "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("54321", TWILIO_URL, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("12345", TWILIO_URL, TWILIO_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8"),
        ("12345", TWILIO_URL, TWILIO_PARAMS, ""),
        ("12345", TWILIO_URL, TWILIO_PARAMS, None),
        ("", TWILIO_URL, TWILIO_PARAMS, compute_signature("", TWILIO_URL, TWILIO_PARAMS)),
        ("12345", TWILIO_URL, TWILIO_PARAMS, "ünïcödé"),
    ],
)
def test_anything_else_does_not_validate(token, url, params, sig):
    assert not is_valid_twilio_signature(token, url, params, sig)
