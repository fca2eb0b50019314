#!/bin/sh
# Writes cert/*.der: self-signed test certificates made by the openssl CLI,
# with the id-pe-cmw extension (1.3.6.1.5.5.7.1.35) built as raw DER:
#   CMW ::= CHOICE { json UTF8String (tag 0x0c), cbor OCTET STRING (tag 0x04) }
# Run after gen_cmw_vectors.py:  sh tests/data/cmw/gen_cmw_certs.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/cert"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

hexof() { od -An -tx1 -v "$1" | tr -d ' \n'; }
# der_len N: DER length octets of N (< 65536).
der_len() {
  if [ "$1" -lt 128 ]; then printf '%02x' "$1"
  elif [ "$1" -lt 256 ]; then printf '81%02x' "$1"
  else printf '82%04x' "$1"; fi
}

make_cert() {  # name subject [extra openssl req options...]
  name=$1
  subject=$2
  shift 2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/key.pem" -subj "$subject" -days 36500 -outform DER -out "$out/$name" "$@"
}

cbor="$here/draft/valid-cbor-collection.cbor"
json="$here/draft/valid-json-record.json"
cbor_len=$(wc -c < "$cbor")
json_len=$(wc -c < "$json")

make_cert cert-cbor-cmw.der "/CN=atls CMW test (CBOR)" -addext \
  "1.3.6.1.5.5.7.1.35=DER:04$(der_len "$cbor_len")$(hexof "$cbor")"
make_cert cert-json-cmw.der "/CN=atls CMW test (JSON)" -addext \
  "1.3.6.1.5.5.7.1.35=DER:0c$(der_len "$json_len")$(hexof "$json")"
make_cert cert-no-cmw.der "/CN=atls CMW test (none)"
# A CMW extension whose CHOICE is neither UTF8String nor OCTET STRING.
make_cert cert-bad-cmw.der "/CN=atls CMW test (bad)" -addext "1.3.6.1.5.5.7.1.35=DER:020101"
