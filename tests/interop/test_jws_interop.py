#!/usr/bin/python3
"""Verifies JWS and EAR tokens signed by atls with python3-cryptography.

The tokens come from the jws_test case JwsInterop.WriteTokensForPython, which
ctest runs first (fixture atls_jws_out) and which writes into
$ATLS_BUILD_DIR/tests/jws_out/. Every token is checked by hand (split,
base64url, raw r||s to DER for ECDSA) against its PEM public key; a tampered
copy of each must fail. Exits non-zero if anything fails.
"""

import base64
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

EAR_PROFILES = {
    "tag:github.com,2023:veraison/ear",
    "tag:ietf.org,2025-07:ear",
    "tag:ietf.org,2026:rats/ear#03",
    "tag:github.com,2024:confidential-containers/Trustee",
}


def b64u_decode(text: str) -> bytes:
    if "=" in text or any(c in text for c in "+/ \n"):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(token: str, pub) -> tuple:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not three parts")
    header = json.loads(b64u_decode(parts[0]))
    payload = b64u_decode(parts[1])
    sig = b64u_decode(parts[2])
    signing_input = (parts[0] + "." + parts[1]).encode()
    alg = header["alg"]
    if alg in ("ES256", "ES384"):
        size, hash_alg, curve = {"ES256": (32, hashes.SHA256(), "secp256r1"),
                                 "ES384": (48, hashes.SHA384(), "secp384r1")}[alg]
        if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != curve:
            raise ValueError(f"{alg} with a mismatched key")
        if len(sig) != 2 * size:
            raise InvalidSignature(f"signature of {len(sig)} bytes")
        der = encode_dss_signature(int.from_bytes(sig[:size], "big"),
                                   int.from_bytes(sig[size:], "big"))
        pub.verify(der, signing_input, ec.ECDSA(hash_alg))
    elif alg == "EdDSA":
        if not isinstance(pub, ed25519.Ed25519PublicKey):
            raise ValueError("EdDSA with a mismatched key")
        pub.verify(sig, signing_input)
    else:
        raise ValueError(f"unexpected alg {alg}")
    return header, payload


def tampered(token: str) -> str:
    h, p, s = token.split(".")
    payload = bytearray(b64u_decode(p))
    payload[0] ^= 0x01
    return h + "." + base64.urlsafe_b64encode(bytes(payload)).rstrip(b"=").decode() + "." + s


def check_ear(claims: dict, expected: dict) -> None:
    assert claims == expected, f"claims differ: {claims} != {expected}"
    assert claims["eat_profile"] in EAR_PROFILES
    assert isinstance(claims["iat"], int)
    vid = claims.get("ear_verifier_id") or claims.get("ear.verifier-id")
    assert isinstance(vid["developer"], str) and isinstance(vid["build"], str)
    assert len(claims["submods"]) >= 1
    for sub in claims["submods"].values():
        status = sub.get("ear_status") or sub.get("ear.status")
        assert status in ("none", "affirming", "warning", "contraindicated")


def main() -> int:
    build = os.environ.get("ATLS_BUILD_DIR")
    if not build:
        print("ATLS_BUILD_DIR is not set", file=sys.stderr)
        return 2
    out = os.path.join(build, "tests", "jws_out")
    manifest_path = os.path.join(out, "manifest.json")
    if not os.path.exists(manifest_path):
        print(f"{manifest_path} missing: run jws_test (JwsInterop.*) first", file=sys.stderr)
        return 2
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)

    passed = failed = 0
    for entry in manifest:
        name = entry["name"]
        try:
            with open(os.path.join(out, name + ".jwt"), encoding="ascii") as f:
                token = f.read()
            with open(os.path.join(out, name + ".pub.pem"), "rb") as f:
                pub = serialization.load_pem_public_key(f.read())
            header, payload = verify(token, pub)
            if entry["kind"] == "jws":
                assert payload.decode() == entry["payload"], "payload differs"
            else:
                assert header.get("typ") == "JWT", "EAR typ is not JWT"
                check_ear(json.loads(payload), entry["claims"])
            try:
                verify(tampered(token), pub)
                raise AssertionError("tampered token verified")
            except InvalidSignature:
                pass
            passed += 1
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    if passed == 0:
        failed += 1
        print("FAIL: no tokens found")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
