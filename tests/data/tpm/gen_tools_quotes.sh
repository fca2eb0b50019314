#!/usr/bin/env bash
# Regenerates tests/data/tpm/tools_{ecc,rsapss}/ with tpm2-tools 5.x against a
# throw-away swtpm: an ECC P-256 (ECDSA-SHA256) and an RSA-2048 (RSAPSS-SHA256)
# restricted signing key under an owner-hierarchy ECC primary, PCRs 0, 1, 2
# and 16 extended, and a two-bank quote (sha256:0,1,2,16+sha1:0,16) over the
# qualifying data 00112233445566778899aabbccddeeff.
# Files per directory: msg (TPMS_ATTEST), sig (TPMT_SIGNATURE), pcrs (the
# serialized PCR file), ak.pub (TPM2B_PUBLIC), ak.pem (public key).
# Usage: tests/data/tpm/gen_tools_quotes.sh   (needs swtpm and tpm2-tools)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
port="$(/usr/bin/python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass')"
swtpm socket --tpm2 --server type=tcp,port="$port",bindaddr=127.0.0.1 \
  --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 --tpmstate dir="$work" \
  --flags not-need-init,startup-clear &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
flush() { tpm2_flushcontext -t; tpm2_flushcontext -s; }
cd "$work"
tpm2_pcrextend 0:sha256=$(printf a | sha256sum | cut -d' ' -f1),sha1=$(printf a | sha1sum | cut -d' ' -f1)
tpm2_pcrextend 16:sha256=$(printf b | sha256sum | cut -d' ' -f1),sha1=$(printf b | sha1sum | cut -d' ' -f1)
tpm2_pcrextend 2:sha256=$(printf c | sha256sum | cut -d' ' -f1)
tpm2_createprimary -C o -g sha256 -G ecc -c prim.ctx >/dev/null; flush
attrs='fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign'
for kind in ecc rsapss; do
  case $kind in
    ecc) alg=ecc256:ecdsa-sha256:null ;;
    rsapss) alg=rsa2048:rsapss-sha256:null ;;
  esac
  tpm2_create -C prim.ctx -G "$alg" -a "$attrs" -u $kind.pub -r $kind.priv >/dev/null; flush
  tpm2_load -C prim.ctx -u $kind.pub -r $kind.priv -c $kind.ctx >/dev/null; flush
  out="$here/tools_$kind"
  mkdir -p "$out"
  tpm2_readpublic -c $kind.ctx -f pem -o "$out/ak.pem" >/dev/null; flush
  cp $kind.pub "$out/ak.pub"
  scheme=ecdsa; [[ $kind == rsapss ]] && scheme=rsapss
  tpm2_quote -c $kind.ctx -l sha256:0,1,2,16+sha1:0,16 -q 00112233445566778899aabbccddeeff --scheme $scheme \
    -m "$out/msg" -s "$out/sig" -o "$out/pcrs" -g sha256 >/dev/null; flush
  if [[ $kind == ecc ]]; then
    tpm2_checkquote -u "$out/ak.pem" -m "$out/msg" -s "$out/sig" -f "$out/pcrs" -g sha256 \
      -q 00112233445566778899aabbccddeeff >/dev/null
  else
    # tpm2_checkquote 5.4 does not verify RSAPSS quotes; check the signature
    # (salt length = digest length) with python3-cryptography instead.
    /usr/bin/python3 - "$out" <<'PY'
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
d = sys.argv[1]
key = serialization.load_pem_public_key(open(d + "/ak.pem", "rb").read())
sig = open(d + "/sig", "rb").read()[6:]  # sigAlg, hash, size
key.verify(sig, open(d + "/msg", "rb").read(),
           padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
PY
  fi
done
echo "wrote $here/tools_ecc and $here/tools_rsapss"
