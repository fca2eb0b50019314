#!/usr/bin/env python3
"""Generates the TEST-ONLY PCK certificate chain used by tests/unit/tdx_plugin_test.cc.

The chain imitates Intel's layout (PCK leaf <- "Intel SGX PCK Platform CA" <- root) so that
the tdx plug-in's PCK checks run unchanged, but every key is a fresh test key and the root is
NOT Intel's. The PCK leaf carries the Intel SGX extension (1.2.840.113741.1.13.1) copied
byte-for-byte from the PCK certificate of ../gotdx_tdx_prod_quote_SPR_E4.dat, so it has the
same PPID and FMSPC. The test builds and signs quotes with pck_key.test.pem at run time.

Run from this directory:  python3 generate.py
Needs python3-cryptography. Outputs: root.test.pem, chain.test.pem (PCK, CA, root; the order
of a quote's certification data), pck_key.test.pem.
"""

import datetime
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SGX_EXT = x509.ObjectIdentifier("1.2.840.113741.1.13.1")
NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2049, 12, 31, tzinfo=datetime.timezone.utc)


def name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "atls test (not Intel)"),
    ])


def sgx_extension():
    quote = open("../gotdx_tdx_prod_quote_SPR_E4.dat", "rb").read()
    pems = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", quote, re.S)
    pck = x509.load_pem_x509_certificate(pems[0])
    return pck.extensions.get_extension_for_oid(SGX_EXT).value


def cert(subject, issuer, key, issuer_key, serial, ca, extra=None):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                      encipher_only=False, decipher_only=False), critical=True))
    if extra is not None:
        b = b.add_extension(extra, critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def main():
    root_key = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    pck_key = ec.generate_private_key(ec.SECP256R1())
    root = cert(name("atls Test SGX Root CA"), name("atls Test SGX Root CA"), root_key, root_key,
                1, True)
    ca = cert(name("Intel SGX PCK Platform CA"), root.subject, ca_key, root_key, 2, True)
    pck = cert(name("Intel SGX PCK Certificate"), ca.subject, pck_key, ca_key, 3, False,
               sgx_extension())
    open("root.test.pem", "wb").write(pem(root))
    open("chain.test.pem", "wb").write(pem(pck) + pem(ca) + pem(root))
    open("pck_key.test.pem", "wb").write(pck_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


if __name__ == "__main__":
    main()
