// Fuzz target: ByteReader driving a TLS-style parse (RFC 8446 §4.2):
//   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
//   Extension extensions<0..2^16-1>;
// Inside extension_data, type 0xff00 holds a vector24 of vector8 entries
// (like a certificate_list), type 0xff01 a vector8 of u16 values (like
// supported_versions), anything else is opaque. Parsed lists are written back
// with ByteWriter and must reproduce the input bytes exactly.

#include "src/core/byte_reader.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace {

using atls::ByteReader;
using atls::ByteView;
using atls::ByteWriter;
using atls::Result;

struct Extension {
  std::uint16_t type = 0;
  ByteView data;
};

Result<void> parse_body(std::uint16_t type, ByteView body) {
  ByteReader r(body);
  if (type == 0xff00) {
    ATLS_ASSIGN_OR_RETURN(const ByteView list, r.vector24(1));
    ByteReader entries(list);
    while (!entries.empty()) {
      ATLS_TRY(entries.vector8(1, 32));
    }
  } else if (type == 0xff01) {
    ATLS_ASSIGN_OR_RETURN(const ByteView list, r.vector8(2, 254));
    ByteReader versions(list);
    while (!versions.empty()) {
      ATLS_TRY(versions.u16());
    }
  } else {
    (void)r.rest();
  }
  return r.expect_end();
}

Result<std::vector<Extension>> parse_extensions(ByteView data) {
  ByteReader r(data);
  ATLS_ASSIGN_OR_RETURN(const ByteView list, r.vector16());
  ATLS_TRY(r.expect_end());
  ByteReader ext(list);
  std::vector<Extension> out;
  while (!ext.empty()) {
    Extension e;
    ATLS_ASSIGN_OR_RETURN(e.type, ext.u16());
    ATLS_ASSIGN_OR_RETURN(e.data, ext.vector16());
    ATLS_TRY(parse_body(e.type, e.data));
    out.push_back(e);
  }
  return out;
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_tls_vectors) {
  auto exts = parse_extensions(data);
  if (!exts) {
    return;
  }
  ByteWriter w;
  const std::size_t list = w.begin_vector(2);
  for (const Extension& e : *exts) {
    w.u16(e.type);
    if (!w.vector16(e.data)) {
      std::abort();
    }
  }
  if (!w.end_vector(list)) {
    std::abort();
  }
  const atls::Bytes& out = w.data();
  if (out.size() != data.size() || !std::equal(out.begin(), out.end(), data.begin())) {
    std::abort();
  }
}
