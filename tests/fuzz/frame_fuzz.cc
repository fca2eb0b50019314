// Fuzz target: the atls stream decoder (docs/wire-profile.md §1.2). The first input
// byte picks the feeding chunk size and whether a preamble is expected; the
// rest is the stream. Every decoded frame is re-encoded, and the re-encoded
// frames must reproduce the consumed bytes exactly. ALERT bodies go through
// parse_alert, whose successes must re-encode to the same body.

#include "src/tls/frame.h"

#include "tests/fuzz/fuzz.h"

#include <algorithm>
#include <cstdlib>

namespace {

using atls::Bytes;
using atls::ByteView;
using atls::tls::FrameDecoder;
using atls::tls::FrameLimits;
using atls::tls::FrameType;

void check(bool c) {
  if (!c) {
    std::abort();
  }
}

}  // namespace

ATLS_FUZZ_TARGET(fuzz_frame) {
  if (data.empty()) {
    return;
  }
  const std::size_t chunk = (data[0] & 0x3F) + 1;
  const bool expect_preamble = (data[0] & 0x40) != 0;
  const bool explicit_check = (data[0] & 0x80) != 0;
  const ByteView stream = data.subspan(1);

  FrameLimits limits;
  limits.control = 4096;
  limits.data = 8192;
  FrameDecoder d(limits, expect_preamble);
  Bytes reencoded;
  std::size_t fed = 0;
  bool failed = false;
  while (fed < stream.size() && !failed) {
    const std::size_t n = std::min(chunk, stream.size() - fed);
    d.feed(stream.subspan(fed, n));
    fed += n;
    if (explicit_check && !d.preamble_seen()) {
      const auto p = d.check_preamble();
      if (p.status == atls::tls::PreambleStatus::NotPreamble) {
        // The bytes handed back are exactly the stream so far.
        check(p.bytes.size() == fed && std::equal(p.bytes.begin(), p.bytes.end(), stream.begin()));
        return;
      }
    }
    for (;;) {
      auto f = d.next();
      if (!f) {
        failed = true;
        break;
      }
      if (!f->has_value()) {
        break;
      }
      const atls::tls::Frame& frame = **f;
      check(frame.body.size() <= (frame.type == FrameType::Data ? limits.data : limits.control));
      auto enc = atls::tls::encode_frame(frame.type, frame.body);
      check(enc.has_value());
      reencoded.insert(reencoded.end(), enc->begin(), enc->end());
      if (frame.type == FrameType::Alert) {
        auto alert = atls::tls::parse_alert(frame.body);
        if (alert) {
          const Bytes again = atls::tls::encode_alert(alert->code, alert->reason);
          check(again == frame.body);
        }
      }
    }
  }
  if (!failed) {
    // Preamble, re-encoded frames and pending bytes tile the stream.
    Bytes consumed;
    if (expect_preamble && d.preamble_seen()) {
      consumed.assign(atls::tls::kPreamble.begin(), atls::tls::kPreamble.end());
    }
    consumed.insert(consumed.end(), reencoded.begin(), reencoded.end());
    check(consumed.size() + d.buffered() == stream.size());
    check(std::equal(consumed.begin(), consumed.end(), stream.begin()));
  }
}
