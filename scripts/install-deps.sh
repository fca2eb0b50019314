#!/usr/bin/env bash
# Installs the Debian 12 packages atls needs, only when something is missing.
# Usage: scripts/install-deps.sh [build|fuzz]   (build is the default)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config
  libssl-dev openssl            # TLS, crypto, X.509
  libcbor-dev                   # CBOR
  nlohmann-json3-dev            # JSON
  libcli11-dev                  # command line
  libcpp-httplib-dev            # HTTP server of `atls verifier` (src/service)
  libgtest-dev libgmock-dev     # unit tests
  libbenchmark-dev              # benchmarks
  libtss2-dev swtpm swtpm-tools tpm2-tools  # TPM 2.0 plug-in (ESAPI) and its tests
  python3 python3-cryptography python3-cbor2 python3-openssl python3-jwt  # independent cross-checks
  libasio-dev stunnel4         # the sidecar's event loop; the sidecar benchmark's reference
  haproxy tshark                # middlebox and capture tests (tls_middlebox_test)
  stunnel4                      # the plain TLS tunnel the sidecar benchmark compares with
  clang-format-14               # format.clang_format test, make format
)
fuzz_pkgs=(clang-14 libfuzzer-14-dev libclang-rt-14-dev)

want=("${build_pkgs[@]}")
if [[ "${1:-build}" == fuzz ]]; then want+=("${fuzz_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "atls: installing missing Debian packages: ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "atls: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
