"""Twilio's official Python client (PyPI `twilio`, 9.13) against Payfriend's Verify sandbox.

A manual interoperability check, not part of `make test` (the wire's vectors and recorded
exchanges are Rust tests). Run a development server configured with these credentials:

    PAYFRIEND_PROVIDER=verify \
    TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef \
    TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef \
    TWILIO_VERIFY_SERVICE_SID=VA0123456789abcdef0123456789abcdef \
    TWILIO_VERIFY_URL=http://127.0.0.1:3300/sandbox/verify/v2 \
    LEPTOS_SITE_ADDR=127.0.0.1:3300 PUBLIC_URL=http://127.0.0.1:3300 target/debug/payfriend

then, in a scratch virtualenv: `pip install twilio==9.13.0 && python verify_official_client.py`.
Each line shows what the real service answers in the same case (verify-v2.md).
"""

import os

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

BASE = os.environ.get("SANDBOX", "http://127.0.0.1:3300/sandbox/verify/v2")
SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "0123456789abcdef0123456789abcdef"
SERVICE = "VA0123456789abcdef0123456789abcdef"


class Sandbox(TwilioHttpClient):
    """Sends what the client would send to verify.twilio.com to the sandbox instead."""

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://verify.twilio.com/v2", BASE), *args, **kwargs)


def refused(what, call):
    try:
        call()
        print(what, "accepted (unexpected)")
    except TwilioRestException as e:
        print(what, e.status, e.code)


service = Client(SID, TOKEN, http_client=Sandbox()).verify.v2.services(SERVICE)
v = service.verifications.create(to="+447700900123", channel="sms", amount="€39.99", payee="Acme Books Ltd")
print("start", v.sid[:2], len(v.sid), v.status, v.amount, v.payee)  # VE 34 pending €39.99 Acme Books Ltd
refused("without amount and payee", lambda: service.verifications.create(to="+447700900123", channel="sms"))  # 400 60206
check = service.verification_checks.create(verification_sid=v.sid, code="000000", amount="€39.99", payee="Acme Books Ltd")
print("wrong code", check.status, check.valid)  # pending False
print("fetch", service.verifications(v.sid).fetch().status)  # pending
print("cancel", service.verifications(v.sid).update(status="canceled").status)  # canceled
refused(
    "check after cancel",
    lambda: service.verification_checks.create(verification_sid=v.sid, code="000000", amount="€39.99", payee="Acme Books Ltd"),
)  # 404 20404
token = service.access_tokens.create(identity="user-0001-abcd", factor_type="push")
print("access token", token.sid[:2], token.factor_type, token.ttl)  # YK push 60
factor = service.entities("user-0001-abcd").new_factors.create(
    friendly_name="phone", factor_type="push", binding_alg="ES256", binding_public_key="MFkw"
)
print("factor", factor.sid[:2], factor.status)  # YF unverified
refused(
    "challenge on an unverified factor",
    lambda: service.entities("user-0001-abcd").challenges.create(factor_sid=factor.sid, details_message="Pay?"),
)  # 403 60318
print("delete factor", service.entities("user-0001-abcd").factors(factor.sid).delete())  # True
wrong = Client(SID, "not the token", http_client=Sandbox()).verify.v2.services(SERVICE)
refused(
    "wrong credentials",
    lambda: wrong.verifications.create(to="+447700900123", channel="sms", amount="1", payee="x"),
)  # 401 20003
