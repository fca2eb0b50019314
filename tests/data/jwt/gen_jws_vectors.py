#!/usr/bin/python3
"""Builds JWS compact test vectors by hand with python3-cryptography.

Run with Debian's /usr/bin/python3 (python3-cryptography). The keys are
derived from fixed strings, so regenerating gives the same keys and
(for EdDSA) the same tokens; ECDSA signatures are randomised, so ES* tokens
change on every run while staying valid.

Writes into this directory:
  <name>.jwt          compact JWS (no trailing newline)
  <name>.pub.pem      the verification key (SubjectPublicKeyInfo PEM)
  <name>.jwk.json     the same public key as a JWK
  thumbprints.json    RFC 7638 SHA-256 thumbprint of every JWK
  bad_*.jwt           negative vectors (see BAD below)
"""

import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

HERE = os.path.dirname(os.path.abspath(__file__))


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seed(label: str) -> bytes:
    return hashlib.sha256(("atls jws test key " + label).encode()).digest()


def ec_key(label: str, curve):
    n = {"secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
         "secp384r1": int("ffffffffffffffffffffffffffffffffffffffffffffffff"
                          "c7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16)}[curve.name]
    scalar = int.from_bytes(seed(label) + seed(label + "/2"), "big") % (n - 1) + 1
    return ec.derive_private_key(scalar, curve)


def ec_jwk(pub, crv: str, size: int) -> dict:
    nums = pub.public_numbers()
    return {"kty": "EC", "crv": crv, "x": b64u(nums.x.to_bytes(size, "big")),
            "y": b64u(nums.y.to_bytes(size, "big"))}


def thumbprint(jwk: dict) -> str:
    required = {"EC": ["crv", "kty", "x", "y"], "OKP": ["crv", "kty", "x"],
                "RSA": ["e", "kty", "n"]}[jwk["kty"]]
    canon = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


def signing_input(header: dict, payload: bytes) -> bytes:
    h = json.dumps(header, separators=(",", ":")).encode()
    return (b64u(h) + "." + b64u(payload)).encode()


def sign_es(priv, hash_alg, size: int, header: dict, payload: bytes, der=False) -> str:
    si = signing_input(header, payload)
    sig = priv.sign(si, ec.ECDSA(hash_alg))
    if not der:
        r, s = decode_dss_signature(sig)
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return si.decode() + "." + b64u(sig)


def verify_es(pub, hash_alg, size: int, token: str) -> None:
    h, p, s = token.split(".")
    raw = b64u_decode(s)
    assert len(raw) == 2 * size
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    pub.verify(der, (h + "." + p).encode(), ec.ECDSA(hash_alg))


def write(name: str, text: str) -> None:
    with open(os.path.join(HERE, name), "w", encoding="ascii") as f:
        f.write(text)


def write_key(name: str, pub, jwk: dict) -> None:
    pem = pub.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    write(name + ".pub.pem", pem)
    write(name + ".jwk.json", json.dumps(jwk, indent=2) + "\n")


def main() -> None:
    thumbs = {}
    claims = {"iss": "https://issuer.example", "sub": "atls-jws-test", "iat": 1700000000,
              "nbf": 1700000000, "exp": 1700003600}

    # ES256 over a JWT claims set.
    k256 = ec_key("es256", ec.SECP256R1())
    jwk256 = ec_jwk(k256.public_key(), "P-256", 32)
    payload = json.dumps(claims, separators=(",", ":")).encode()
    tok = sign_es(k256, hashes.SHA256(), 32, {"alg": "ES256", "typ": "JWT"}, payload)
    verify_es(k256.public_key(), hashes.SHA256(), 32, tok)
    write("es256.jwt", tok)
    write_key("es256", k256.public_key(), jwk256)
    thumbs["es256"] = thumbprint(jwk256)

    # ES384 over a claims set with a kid header.
    k384 = ec_key("es384", ec.SECP384R1())
    jwk384 = ec_jwk(k384.public_key(), "P-384", 48)
    tok = sign_es(k384, hashes.SHA384(), 48,
                  {"alg": "ES384", "kid": thumbprint(jwk384)}, payload)
    verify_es(k384.public_key(), hashes.SHA384(), 48, tok)
    write("es384.jwt", tok)
    write_key("es384", k384.public_key(), jwk384)
    thumbs["es384"] = thumbprint(jwk384)

    # EdDSA (Ed25519) over a non-JSON payload.
    ked = ed25519.Ed25519PrivateKey.from_private_bytes(seed("eddsa"))
    raw_pub = ked.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    jwked = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw_pub)}
    si = signing_input({"alg": "EdDSA"}, b"binary payload \x00\x01\xfe\xff")
    tok = si.decode() + "." + b64u(ked.sign(si))
    ked.public_key().verify(b64u_decode(tok.split(".")[2]), si)
    write("eddsa.jwt", tok)
    write_key("eddsa", ked.public_key(), jwked)
    thumbs["eddsa"] = thumbprint(jwked)

    # RFC 8037 Appendix A: the Ed25519 key (A.2), its thumbprint (A.3) and the
    # signed example (A.4), checked here before being written.
    rfc_x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    rfc_d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    rfc_jwk = {"kty": "OKP", "crv": "Ed25519", "x": rfc_x}
    rfc_priv = ed25519.Ed25519PrivateKey.from_private_bytes(b64u_decode(rfc_d))
    assert b64u(rfc_priv.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)) == rfc_x
    assert thumbprint(rfc_jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    rfc_tok = ("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
               "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
    h, p, s = rfc_tok.split(".")
    rfc_priv.public_key().verify(b64u_decode(s), (h + "." + p).encode())
    assert b64u(rfc_priv.sign((h + "." + p).encode())) == s  # Ed25519 is deterministic
    write("rfc8037_a4.jwt", rfc_tok)
    write_key("rfc8037_a4", rfc_priv.public_key(), rfc_jwk)
    thumbs["rfc8037_a4"] = thumbprint(rfc_jwk)

    # Negative vectors, all under the ES256 key above.
    # - the signature in DER (ECDSA-Sig-Value) instead of raw r||s
    write("bad_es256_der_signature.jwt",
          sign_es(k256, hashes.SHA256(), 32, {"alg": "ES256"}, payload, der=True))
    # - one bit of the payload changed after signing
    good = sign_es(k256, hashes.SHA256(), 32, {"alg": "ES256"}, payload)
    h, p, s = good.split(".")
    tampered = bytearray(b64u_decode(p))
    tampered[10] ^= 0x01
    write("bad_es256_tampered_payload.jwt", h + "." + b64u(bytes(tampered)) + "." + s)
    # - an ES384 signature labelled ES256 (alg/key mismatch for the P-256 key)
    write("bad_es384_labelled_es256.jwt",
          sign_es(k384, hashes.SHA384(), 48, {"alg": "ES256"}, payload))
    # - a header that is a JSON array
    write("bad_header_not_object.jwt",
          b64u(b'["alg","ES256"]') + "." + b64u(payload) + "." + s)
    # - a header without alg
    write("bad_header_no_alg.jwt", b64u(b'{"typ":"JWT"}') + "." + b64u(payload) + "." + s)
    # - a critical header parameter
    write("bad_crit_header.jwt",
          sign_es(k256, hashes.SHA256(), 32, {"alg": "ES256", "crit": ["exp"], "exp": 1},
                  payload))

    write("thumbprints.json", json.dumps(thumbs, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
