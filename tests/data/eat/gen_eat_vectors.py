#!/usr/bin/python3
"""Writes EAT (RFC 9711) claims sets with cbor2, independently of atls.

Run with Debian's /usr/bin/python3 (python3-cbor2). Outputs, next to this file:
  all_claims.cbor      every claim atls types, plus unknown int and text claims
The values are fixed; eat_test.cc checks them.
"""
import os

import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))

nested = {
    10: bytes(range(0x20, 0x28)),          # eat_nonce, 8 bytes
    270: "bootloader",                      # swname
    271: ["2.1"],                           # swversion without scheme
}

claims = {
    1: "https://issuer.example",                                   # iss
    4: 1900000000,                                                 # exp
    5: 1600000000,                                                 # nbf
    6: 1700000000,                                                 # iat
    10: [bytes(range(8)), bytes(range(0x40, 0x80))],               # eat_nonce: 8 and 64 bytes
    256: bytes.fromhex("01") + bytes(range(0xa0, 0xb0)),           # ueid RAND, 17 bytes
    258: bytes.fromhex("0001de"),                                  # oemid IEEE OUI
    259: b"model-x",                                               # hwmodel
    263: 3,                                                        # dbgstat disabled-permanently
    265: cbor2.CBORTag(111, bytes.fromhex("2b0601040182a37e01")),   # eat_profile OID 1.3.6.1.4.1.37374.1
    266: {                                                         # submods
        "boot": nested,
        "tee": bytes.fromhex("d28443a10126a0f6f6"),                # a nested CBOR token (bstr)
        "json": "eyJhbGciOiJub25lIn0.e30.",                        # a nested JSON token (tstr)
        "fw": [-16, bytes(32)],                                    # detached digest, SHA-256 (-16)
    },
    270: "firmware",                                               # swname
    271: ["1.2.3", 16384],                                         # swversion, semver scheme
    273: [[258, bytes.fromhex("a10101")], [60, b"\x01\x02"]],      # measurements
    -70000: "negative-key claim",                                  # unknown int key
    "vendor-claim": {"a": [1, 2]},                                 # unknown text key
    2: "subject",                                                  # sub (registered, untyped)
}

with open(os.path.join(HERE, "all_claims.cbor"), "wb") as f:
    f.write(cbor2.dumps(claims))
