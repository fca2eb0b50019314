#!/usr/bin/python3
"""Checks COSE_Sign1 messages signed by atls with Python `cryptography` + `cbor2`.

Runs the C++ test `CoseInterop.WriteSignedMessages` ($ATLS_BUILD_DIR/tests/cose_test),
which signs messages with fresh keys and writes, per case, into
$ATLS_BUILD_DIR/tests/cose_out/:

  <name>.cbor          the COSE_Sign1 message
  <name>.pem           the public key (SubjectPublicKeyInfo)
  <name>.cosekey.cbor  the same public key as a COSE_Key
  <name>.aad           external_aad
  <name>.payload       the payload that was signed

Each message is then decoded and verified here, independently of atls:
Sig_structure is rebuilt per RFC 9052 section 4.4 and the signature checked
with `cryptography`. Exits non-zero on any failure (or if the files are
missing) and prints "N passed, M failed".
"""

import glob
import os
import subprocess
import sys

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

# COSE alg -> (curve name or "Ed25519", hash, field bytes)
ALGS = {
    -7: ("secp256r1", hashes.SHA256(), 32),
    -35: ("secp384r1", hashes.SHA384(), 48),
    -36: ("secp521r1", hashes.SHA512(), 66),
    -8: ("Ed25519", None, 32),
}
CRV = {"secp256r1": 1, "secp384r1": 2, "secp521r1": 3}


def check_message(base: str) -> None:
    with open(base + ".cbor", "rb") as f:
        data = f.read()
    with open(base + ".pem", "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    with open(base + ".aad", "rb") as f:
        aad = f.read()
    with open(base + ".payload", "rb") as f:
        expected_payload = f.read()
    name = os.path.basename(base)

    obj = cbor2.loads(data)
    tags = []
    while isinstance(obj, cbor2.CBORTag):
        tags.append(obj.tag)
        obj = obj.value
    if tags not in ([], [18], [61, 18]):
        raise AssertionError(f"unexpected tags {tags}")
    if name.endswith("-cwt") and tags != [61, 18]:
        raise AssertionError("CWT case not tagged 61(18(...))")
    if "untagged" in name and tags:
        raise AssertionError("untagged case carries a tag")
    if not isinstance(obj, list) or len(obj) != 4:
        raise AssertionError("not an array of 4")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(unprotected, dict):
        raise AssertionError("bad header types")
    if payload != expected_payload:
        raise AssertionError("payload differs")
    prot = cbor2.loads(protected)
    if not isinstance(prot, dict) or 1 not in prot:
        raise AssertionError("alg not in the protected header")
    # The protected header should be a deterministic encoding of the map.
    if cbor2.dumps(prot) != protected:
        raise AssertionError("protected header is not in preferred encoding")
    alg = prot[1]
    if alg not in ALGS:
        raise AssertionError(f"unexpected alg {alg}")
    if unprotected.get(4) != name.encode():
        raise AssertionError("kid differs")

    tbs = cbor2.dumps(["Signature1", protected, aad, payload])
    curve, hash_alg, n = ALGS[alg]
    if curve == "Ed25519":
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise AssertionError("EdDSA with a non-Ed25519 key")
        if len(signature) != 64:
            raise AssertionError("Ed25519 signature length")
        key.verify(signature, tbs)
    else:
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            raise AssertionError(f"alg {alg} with a {getattr(key, 'curve', key)} key")
        if len(signature) != 2 * n:
            raise AssertionError(f"ECDSA signature length {len(signature)} != {2 * n}")
        r = int.from_bytes(signature[:n], "big")
        s = int.from_bytes(signature[n:], "big")
        key.verify(utils.encode_dss_signature(r, s), tbs, ec.ECDSA(hash_alg))
    # A modified external_aad must not verify.
    try:
        bad = cbor2.dumps(["Signature1", protected, aad + b"\x00", payload])
        if curve == "Ed25519":
            key.verify(signature, bad)
        else:
            key.verify(utils.encode_dss_signature(r, s), bad, ec.ECDSA(hash_alg))
        raise AssertionError("signature verified over a different external_aad")
    except InvalidSignature:
        pass

    # COSE_Key equals the PEM key.
    with open(base + ".cosekey.cbor", "rb") as f:
        ck = cbor2.loads(f.read())
    if curve == "Ed25519":
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if ck != {1: 1, -1: 6, -2: raw}:
            raise AssertionError("COSE_Key (OKP) differs")
    else:
        nums = key.public_numbers()
        want = {1: 2, -1: CRV[curve], -2: nums.x.to_bytes(n, "big"), -3: nums.y.to_bytes(n, "big")}
        if ck != want:
            raise AssertionError("COSE_Key (EC2) differs")


def main() -> int:
    build = os.environ.get("ATLS_BUILD_DIR")
    if not build:
        print("ATLS_BUILD_DIR is not set; 0 passed, 1 failed")
        return 1
    out_dir = os.path.join(build, "tests", "cose_out")
    binary = os.path.join(build, "tests", "cose_test")
    if os.path.exists(binary):
        env = dict(os.environ, ATLS_COSE_OUT_DIR=out_dir)
        proc = subprocess.run([binary, "--gtest_filter=CoseInterop.*"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            print(proc.stdout.decode(errors="replace"))
            print(f"{binary} failed; 0 passed, 1 failed")
            return 1
    bases = sorted(p[: -len(".cbor")] for p in glob.glob(os.path.join(out_dir, "*.cbor"))
                   if not p.endswith(".cosekey.cbor"))
    if not bases:
        print(f"no messages in {out_dir} (build and run cose_test first); 0 passed, 1 failed")
        return 1
    passed = failed = 0
    for base in bases:
        try:
            check_message(base)
            passed += 1
            print(f"ok   {os.path.basename(base)}")
        except Exception as e:  # noqa: BLE001 - report every failure kind
            failed += 1
            print(f"FAIL {os.path.basename(base)}: {type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed >= 6 else 1


if __name__ == "__main__":
    sys.exit(main())
