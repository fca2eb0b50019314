#!/usr/bin/python3
"""Writes the CMW test vectors of tests/data/cmw/ (draft/ and bad/).

The bytes come from an independent encoder (Debian's python3-cbor2 and the
standard json module), not from atls. Run with /usr/bin/python3 from any
directory; the files are written next to this script:

    /usr/bin/python3 tests/data/cmw/gen_cmw_vectors.py

draft/  examples of draft-ietf-rats-msg-wrap (Record, Tag and Collection
        sections) and other well-formed CMWs, named valid-*.
bad/    malformed CMWs, named bad-<what>.*; the expected error codes are
        listed in tests/unit/cmw_test.cc.
"""

import base64
import json
import os

import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))
TAG_MIN = 1668546817
TAG_MAX = 1668612095


def tn(cf):
    """RFC 9277 Appendix B: TN(ct) = 1668546817 + (ct / 255) * 256 + ct % 255."""
    return TAG_MIN + (cf // 255) * 256 + cf % 255


def write(sub, name, data):
    os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(HERE, sub, name), "wb") as f:
        f.write(data)


def cbor(obj):
    return cbor2.dumps(obj)


def b64u(b):
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def js(obj):
    return json.dumps(obj, separators=(",", ":"))


def nested(levels, leaf):
    """levels nested collections, each {"n": ...}, around leaf."""
    obj = leaf
    for _ in range(levels):
        obj = {"n": obj}
    return obj


assert tn(64999) == 1668612070
assert tn(0) == TAG_MIN
assert tn(65024) == TAG_MAX
assert tn(30001) == 1668576935

RECORD = ["application/vnd.example.rats-conceptual-msg", b"\x23\x47\xda\x55"]

# --- Draft examples -------------------------------------------------------
# JSON record (draft "JSON Record" example).
write("draft", "valid-json-record.json",
      js(["application/vnd.example.rats-conceptual-msg", "I0faVQ"]))
# CBOR record with a content format (draft "CBOR Record" example).
write("draft", "valid-cbor-record-cf.cbor", cbor([64999, b"\x23\x47\xda\x55"]))
# CBOR record with a media type (the same message).
write("draft", "valid-cbor-record-mt.cbor", cbor(RECORD))
# CBOR tag (draft "CBOR Tag" example): TN(64999).
write("draft", "valid-cbor-tag.cbor", cbor(cbor2.CBORTag(tn(64999), b"\x23\x47\xda\x55")))
# CBOR record with an explicit CM indicator 3 (draft "CBOR Record with explicit
# CM indicator" example).
write("draft", "valid-cbor-record-ind.cbor",
      cbor(["application/signed-corim+cbor", bytes.fromhex("d28443a10126a1"), 3]))
# An Attestation Result record with ind 8 (draft record section example).
write("draft", "valid-cbor-record-ar.cbor", cbor(["application/eat+jwt", b"Li4u", 8]))
# CBOR collection (draft "CBOR Collection" example).
write("draft", "valid-cbor-collection.cbor", cbor({
    "__cmwc_t": "tag:example.com,2024:composite-attester",
    0: [64999, b"\x23\x47\xda\x55", 4],
    1: cbor2.CBORTag(tn(64999), b"\x23\x47\xda\x55"),
    2: ["application/eat+jwt", bytes.fromhex("4c693475"), 8],
}))
# JSON collection (draft "JSON Collection" example).
write("draft", "valid-json-collection.json", js({
    "attester A": ["application/eat-ucs+json", "e30K", 4],
    "attester B": ["application/eat-ucs+cbor", "oA", 4],
}))

# --- Other valid CMWs -------------------------------------------------------
write("draft", "valid-cbor-collection-oid.cbor", cbor({
    "__cmwc_t": "2.16.840.1.113741.1.16.1",
    "evidence": ["application/eat+cwt; eat_profile=2.16.840.1.113741.1.16.1", b"\x00", 4],
}))
write("draft", "valid-json-collection-uri.json", js({
    "__cmwc_t": "https://example.com/cmw/profile#v1",
    "ar": ["application/eat+jwt", b64u(b"eyJhbGciOiJFUzI1NiJ9.e30."), 8],
    "ev": ["application/cose; cose-type=\"cose-sign1\"", b64u(bytes.fromhex("d284")), 4],
}))
write("draft", "valid-cbor-cf-65535.cbor", cbor([65535, b"\x00"]))
write("draft", "valid-cbor-ind-max.cbor", cbor(["application/x", b"\x00", 0xFFFFFFFF]))
write("draft", "valid-cbor-tag-min.cbor", cbor(cbor2.CBORTag(TAG_MIN, b"")))
write("draft", "valid-cbor-tag-max.cbor", cbor(cbor2.CBORTag(TAG_MAX, b"\x01")))
write("draft", "valid-cbor-depth-8.cbor", cbor(nested(8, RECORD)))
write("draft", "valid-json-depth-8.json",
      js(nested(8, ["application/vnd.example.rats-conceptual-msg", "I0faVQ"])))
# A collection nested in a collection, with negative and text labels.
write("draft", "valid-cbor-nested.cbor", cbor({
    -1: {"inner": cbor2.CBORTag(tn(30001), b"\x01\x02")},
    "leaf": [30001, b"\x03"],
}))

# --- Malformed CMWs ---------------------------------------------------------
valid = cbor(RECORD)
write("bad", "bad-empty-array.cbor", cbor([]))
write("bad", "bad-one-element.cbor", cbor(["application/x"]))
write("bad", "bad-four-elements.cbor", cbor(["application/x", b"\x00", 4, 5]))
write("bad", "bad-ind-zero.cbor", cbor(["application/x", b"\x00", 0]))
write("bad", "bad-ind-2p32.cbor", cbor(["application/x", b"\x00", 2**32]))
write("bad", "bad-ind-negative.cbor", cbor(["application/x", b"\x00", -4]))
write("bad", "bad-ind-text.cbor", cbor(["application/x", b"\x00", "evidence"]))
write("bad", "bad-cf-70000.cbor", cbor([70000, b"\x00"]))
write("bad", "bad-type-negative.cbor", cbor([-1, b"\x00"]))
write("bad", "bad-type-bytes.cbor", cbor([b"application/x", b"\x00"]))
write("bad", "bad-type-no-slash.cbor", cbor(["application", b"\x00"]))
write("bad", "bad-type-empty.cbor", cbor(["", b"\x00"]))
write("bad", "bad-type-space.cbor", cbor(["application/x y", b"\x00"]))
write("bad", "bad-value-text.cbor", cbor(["application/x", "AA"]))
write("bad", "bad-tag-below-range.cbor", cbor(cbor2.CBORTag(TAG_MIN - 1, b"\x00")))
write("bad", "bad-tag-above-range.cbor", cbor(cbor2.CBORTag(TAG_MAX + 1, b"\x00")))
write("bad", "bad-tag-not-tn.cbor", cbor(cbor2.CBORTag(TAG_MIN + 255, b"\x00")))
write("bad", "bad-tag-not-bstr.cbor", cbor(cbor2.CBORTag(tn(64999), "2347da55")))
write("bad", "bad-tag-cbor-date.cbor", cbor(cbor2.CBORTag(1, 0)))
write("bad", "bad-empty-collection.cbor", cbor({}))
write("bad", "bad-only-ctype.cbor", cbor({"__cmwc_t": "tag:example.com,2024:x"}))
write("bad", "bad-ctype-int.cbor", cbor({"__cmwc_t": 1, 0: RECORD}))
write("bad", "bad-ctype-not-uri.cbor", cbor({"__cmwc_t": "composite attester", 0: RECORD}))
write("bad", "bad-ctype-oid-leading-zero.cbor", cbor({"__cmwc_t": "1.02.3", 0: RECORD}))
write("bad", "bad-label-bytes.cbor", cbor({b"\x00": RECORD}))
write("bad", "bad-entry-int.cbor", cbor({0: 5}))
write("bad", "bad-depth-9.cbor", cbor(nested(9, RECORD)))
write("bad", "bad-not-cmw.cbor", cbor("application/x"))
# A map with the label 0 twice (a dict cannot hold it, so join the pieces).
write("bad", "bad-dup-label.cbor", b"\xa2" + cbor(0) + valid + cbor(0) + valid)
write("bad", "bad-trailing.cbor", valid + b"\x00")
write("bad", "bad-truncated.cbor", valid[:-1])

jrec = ["application/vnd.example.rats-conceptual-msg", "I0faVQ"]
write("bad", "bad-json-padding.json", js(["application/x", "YQ=="]))
write("bad", "bad-json-plus.json", js(["application/x", "+/8"]))
write("bad", "bad-json-empty-value.json", js(["application/x", ""]))
write("bad", "bad-json-value-number.json", js(["application/x", 5]))
write("bad", "bad-json-type-number.json", js([30001, "YQ"]))
write("bad", "bad-json-type-invalid.json", js(["application/", "YQ"]))
write("bad", "bad-json-ind-zero.json", js(["application/x", "YQ", 0]))
write("bad", "bad-json-ind-2p32.json", js(["application/x", "YQ", 2**32]))
write("bad", "bad-json-ind-float.json", js(["application/x", "YQ", 4.0]))
write("bad", "bad-json-four-elements.json", js(["application/x", "YQ", 4, 4]))
write("bad", "bad-json-empty-array.json", js([]))
write("bad", "bad-json-empty-collection.json", js({}))
write("bad", "bad-json-only-ctype.json", js({"__cmwc_t": "tag:example.com,2024:x"}))
write("bad", "bad-json-ctype-number.json", js({"__cmwc_t": 7, "a": jrec}))
write("bad", "bad-json-entry-string.json", js({"a": "x"}))
write("bad", "bad-json-depth-9.json", js(nested(9, jrec)))
write("bad", "bad-json-dup-label.json", '{"a":' + js(jrec) + ',"a":' + js(jrec) + "}")
write("bad", "bad-json-trailing.json", js(jrec) + "x")
write("bad", "bad-json-truncated.json", js(jrec)[:-1])
