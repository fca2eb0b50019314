#!/usr/bin/python3
"""Independent cross-check of the RA-TLS certificates in this directory.

Uses only Python `cryptography` and `cbor2` (no atls code). For each
certificate with the TCG DICE evidence extension 2.23.133.5.4.9, it prints the
SGX quote's fields and checks:
  - report_data[0:32] == SHA-256(claims-buffer) and report_data[32:64] == 0;
  - claims-buffer["pubkey-hash"] == CBOR [1, SHA-256(SPKI DER)];
  - the quote signature by the attestation key, the QE report signature by the
    PCK key, QE report_data == SHA-256(attestation key || QE auth data) || 0*32.
With --cmw FILE.der it instead checks a certificate minted by atls: the
id-pe-cmw extension holds a CMW whose Evidence nonce is SHA-256(SPKI DER)
(or SHA-256(SPKI DER || nonce) with --nonce HEX), printing the nonce it
expects. With --extract DIR it writes each certificate's quote to DIR.

Usage: crosscheck.py [--extract DIR] [CERT.pem ...]
"""
import hashlib
import struct
import sys

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

DICE_OID = x509.ObjectIdentifier("2.23.133.5.4.9")


def spki_der(cert):
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def p256_verify(xy, raw_sig, msg):
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + xy)
    sig = utils.encode_dss_signature(int.from_bytes(raw_sig[:32], "big"),
                                     int.from_bytes(raw_sig[32:], "big"))
    key.verify(sig, msg, ec.ECDSA(hashes.SHA256()))


def check_quote(quote):
    version, akt, tee = struct.unpack_from("<HHI", quote, 0)
    assert (version, akt, tee) == (3, 2, 0), (version, akt, tee)
    body = quote[48:48 + 384]
    sig_len = struct.unpack_from("<I", quote, 432)[0]
    sd = quote[436:436 + sig_len]
    sig, ak = sd[:64], sd[64:128]
    qe_report, qe_sig = sd[128:512], sd[512:576]
    auth_len = struct.unpack_from("<H", sd, 576)[0]
    auth = sd[578:578 + auth_len]
    off = 578 + auth_len
    cert_type, cert_len = struct.unpack_from("<HI", sd, off)
    assert cert_type == 5
    pem = sd[off + 6:off + 6 + cert_len].rstrip(b"\0")
    blocks = pem.split(b"-----END CERTIFICATE-----")
    chain = [x509.load_pem_x509_certificate(b + b"-----END CERTIFICATE-----\n")
             for b in blocks if b"-----BEGIN" in b]
    assert len(chain) == 3, len(chain)
    p256_verify(ak, sig, quote[:432])
    pck = chain[0].public_key()
    pck.verify(utils.encode_dss_signature(int.from_bytes(qe_sig[:32], "big"),
                                          int.from_bytes(qe_sig[32:], "big")),
               qe_report, ec.ECDSA(hashes.SHA256()))
    assert qe_report[320:352] == hashlib.sha256(ak + auth).digest()
    assert qe_report[352:384] == bytes(32)
    return {
        "mrenclave": body[64:96].hex(),
        "mrsigner": body[128:160].hex(),
        "attributes": body[48:64].hex(),
        "isvprodid": struct.unpack_from("<H", body, 256)[0],
        "isvsvn": struct.unpack_from("<H", body, 258)[0],
        "report_data": body[320:384],
        "qe_mrsigner": qe_report[128:160].hex(),
        "qe_isvprodid": struct.unpack_from("<H", qe_report, 256)[0],
        "pck_subject": chain[0].subject.rfc4514_string(),
        "pck_issuer": chain[0].issuer.rfc4514_string(),
    }


def check_dice(path, extract_dir):
    cert = x509.load_pem_x509_certificate(open(path, "rb").read())
    ext = cert.extensions.get_extension_for_oid(DICE_OID)
    tagged = cbor2.loads(ext.value.value)
    assert tagged.tag == 60000, tagged.tag
    quote, claims_buf = tagged.value
    fields = check_quote(quote)
    rd = fields.pop("report_data")
    assert rd[:32] == hashlib.sha256(claims_buf).digest(), "report_data[0:32]"
    assert rd[32:] == bytes(32), "report_data[32:64]"
    claims = cbor2.loads(claims_buf)
    alg, digest = cbor2.loads(claims["pubkey-hash"])
    assert alg == 1 and digest == hashlib.sha256(spki_der(cert)).digest(), "pubkey-hash"
    print(path)
    print("  spki_sha256", hashlib.sha256(spki_der(cert)).hexdigest())
    print("  report_data[0:32]", rd[:32].hex())
    print("  claims keys", sorted(claims))
    for k, v in fields.items():
        print("  " + k, v)
    if extract_dir:
        name = path.rsplit("/", 1)[-1].replace("-cert.pem", "_quote.dat")
        open(extract_dir + "/" + name, "wb").write(quote)


def check_cmw(path, nonce_hex):
    data = open(path, "rb").read()
    cert = (x509.load_pem_x509_certificate(data) if data.startswith(b"-----")
            else x509.load_der_x509_certificate(data))
    ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.35"))
    raw = ext.value.value
    assert raw[0] == 0x04, "expected an OCTET STRING (CBOR CMW)"
    # Skip the DER OCTET STRING header.
    n = raw[1]
    start = 2 if n < 0x80 else 2 + (n & 0x7F)
    cmw = cbor2.loads(raw[start:])
    expected = hashlib.sha256(spki_der(cert) + bytes.fromhex(nonce_hex)).digest()
    cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                             ec.ECDSA(hashes.SHA256()))
    print("cmw", repr(cmw)[:200])
    print("expected_nonce", expected.hex())
    # A CMW record [type, value, ...]; for software Evidence (an EAT in a
    # COSE_Sign1, tag 18) the eat_nonce claim (10) must be the expected nonce.
    if isinstance(cmw, list) and cmw[0] == "application/eat+cwt":
        sign1 = cbor2.loads(cmw[1])
        while isinstance(sign1, cbor2.CBORTag):  # CWT (61), COSE_Sign1 (18)
            sign1 = sign1.value
        claims = cbor2.loads(sign1[2])
        assert claims[10] == expected, "eat_nonce"
        print("eat_nonce matches")


def main(argv):
    extract_dir = None
    if argv[:1] == ["--cmw"]:
        nonce = argv[3] if len(argv) > 3 and argv[2] == "--nonce" else ""
        check_cmw(argv[1], nonce)
        return 0
    if argv[:1] == ["--extract"]:
        extract_dir, argv = argv[1], argv[2:]
    for path in argv:
        check_dice(path, extract_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
