#!/usr/bin/python3
"""Generates COSE_Sign1 known-answer vectors with an independent implementation.

Run with Debian's /usr/bin/python3 (python3-cryptography, python3-cbor2):

    /usr/bin/python3 tests/data/cose/gen_cose_vectors.py

It builds Sig_structure itself (RFC 9052 section 4.4), signs with
`cryptography`, encodes with `cbor2`, and writes into generated/:

  keys/<name>.pub.test.pem      public keys (the private keys are fixed test
                                scalars/seeds below, never to be used elsewhere)
  keys/<name>.cosekey.cbor      the same public keys as COSE_Key maps
  <vector>.cbor                 COSE_Sign1 messages
  vectors.json                  what the C++ test expects of each message

The keys are deterministic; ECDSA signatures are randomised, so each run
produces different (equally valid) signatures. The C++ test only verifies.
"""

import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "generated")

# Fixed test keys (name -> (key, COSE alg)). Not secret, test-only.
KEYS = {
    "es256": (ec.derive_private_key(0x1F2E3D4C5B6A79881726354453627180FEDCBA98765432100123456789ABCDEF,
                                    ec.SECP256R1()), -7),
    "es384": (ec.derive_private_key(0x0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20
                                    + 0x3031323334353637, ec.SECP384R1()), -35),
    "es512": (ec.derive_private_key(0x01AB23CD45EF6789A0B1C2D3E4F5061728394A5B6C7D8E9FA0B1C2D3E4F5061728,
                                    ec.SECP521R1()), -36),
    "eddsa": (ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(0x20, 0x40))), -8),
}

FIELD = {"es256": 32, "es384": 48, "es512": 66}
HASH = {"es256": hashes.SHA256(), "es384": hashes.SHA384(), "es512": hashes.SHA512()}
CRV = {"es256": 1, "es384": 2, "es512": 3}

# An EAT-like claims set as the usual payload: {10: nonce, 265: profile}.
CLAIMS = cbor2.dumps({10: bytes(range(32)), 265: "tag:example.org,2025:cose-test"})


def sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    """RFC 9052 section 4.4: ["Signature1", body_protected, external_aad, payload]."""
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def sign(name: str, tbs: bytes) -> bytes:
    key, _ = KEYS[name]
    if name == "eddsa":
        return key.sign(tbs)
    der = key.sign(tbs, ec.ECDSA(HASH[name]))
    r, s = utils.decode_dss_signature(der)
    n = FIELD[name]
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def cose_key(name: str) -> bytes:
    pub = KEYS[name][0].public_key()
    if name == "eddsa":
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cbor2.dumps({1: 1, -1: 6, -2: raw})
    nums = pub.public_numbers()
    n = FIELD[name]
    return cbor2.dumps({1: 2, -1: CRV[name], -2: nums.x.to_bytes(n, "big"),
                        -3: nums.y.to_bytes(n, "big")})


def build(vec: dict) -> dict:
    """Builds one message from a description and returns its manifest entry."""
    name = vec["key"]
    protected_map = vec.get("protected", {1: KEYS[name][1]})
    protected = cbor2.dumps(protected_map) if protected_map else b""
    unprotected = vec.get("unprotected", {})
    payload = vec.get("payload", CLAIMS)
    aad = vec.get("external_aad", b"")
    detached = vec.get("detached", False)
    tbs = sig_structure(protected, aad, payload)
    signature = sign(name, tbs)
    if vec.get("corrupt_signature"):
        signature = bytes([signature[0] ^ 0x01]) + signature[1:]
    msg = [protected, unprotected, None if detached else payload, signature]
    tag = vec.get("tag", 18)
    if tag == 18:
        obj = cbor2.CBORTag(18, msg)
    elif tag == 61:
        obj = cbor2.CBORTag(61, cbor2.CBORTag(18, msg))
    else:
        obj = msg
    data = cbor2.dumps(obj)
    with open(os.path.join(OUT, vec["name"] + ".cbor"), "wb") as f:
        f.write(data)
    kid = protected_map.get(4, unprotected.get(4))
    ct = protected_map.get(3, unprotected.get(3))
    return {
        "name": vec["name"],
        "file": vec["name"] + ".cbor",
        "key": name,
        "alg": protected_map.get(1),
        "kid": kid.hex() if kid is not None else None,
        "content_type": ct,
        "payload": payload.hex(),
        "detached": detached,
        "external_aad": aad.hex(),
        "outer_tag": tag,
        "protected": protected.hex(),
        "tbs": tbs.hex(),
        "expect": vec.get("expect", "ok"),
    }


VECTORS = [
    {"name": "valid-es256-tagged", "key": "es256", "unprotected": {4: b"es256-test-key"}},
    {"name": "valid-es256-cwt", "key": "es256", "tag": 61,
     "protected": {1: -7, 3: "application/eat+cwt"}},
    {"name": "valid-es256-untagged-aad", "key": "es256", "tag": None,
     "external_aad": bytes.fromhex("11aa22bb33cc44dd55006699")},
    {"name": "valid-es256-detached", "key": "es256", "detached": True,
     "payload": b"detached content"},
    {"name": "valid-es256-empty-payload", "key": "es256", "payload": b""},
    {"name": "valid-es256-crit-kid", "key": "es256",
     "protected": {1: -7, 2: [4], 4: b"crit-kid"}},
    {"name": "valid-es384-tagged", "key": "es384", "protected": {1: -35, 4: b"es384-test-key"}},
    {"name": "valid-es512-tagged", "key": "es512", "unprotected": {3: 61}},
    {"name": "valid-eddsa-tagged", "key": "eddsa", "unprotected": {4: b"eddsa-test-key"}},
    {"name": "bad-unknown-crit", "key": "es256", "protected": {1: -7, 2: [99], 99: 1},
     "expect": "CoseUnknownCritical"},
    {"name": "bad-alg-unprotected", "key": "es256", "protected": {}, "unprotected": {1: -7},
     "expect": "CoseMissingAlgorithm"},
    {"name": "bad-signature-es256", "key": "es256", "corrupt_signature": True,
     "expect": "CoseBadSignature"},
    {"name": "bad-signature-eddsa", "key": "eddsa", "corrupt_signature": True,
     "expect": "CoseBadSignature"},
]


def main() -> None:
    os.makedirs(os.path.join(OUT, "keys"), exist_ok=True)
    for name, (key, _) in KEYS.items():
        pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        with open(os.path.join(OUT, "keys", name + ".pub.test.pem"), "wb") as f:
            f.write(pem)
        with open(os.path.join(OUT, "keys", name + ".cosekey.cbor"), "wb") as f:
            f.write(cose_key(name))
    manifest = [build(v) for v in VECTORS]
    with open(os.path.join(OUT, "vectors.json"), "w") as f:
        json.dump({"generator": "tests/data/cose/gen_cose_vectors.py", "vectors": manifest}, f,
                  indent=1)
        f.write("\n")
    print(f"wrote {len(manifest)} vectors to {OUT}")


if __name__ == "__main__":
    main()
