#pragma once

// The atls stream after the TLS handshake (docs/wire-profile.md §1.2): a 5-byte
// preamble, then frames in both directions until close:
//
//   frame = uint8 type ‖ uint24 length ‖ body[length]
//
// Pure code: no I/O, no SSL. The engine feeds the bytes it reads with
// SSL_read into a FrameDecoder and writes the outputs of encode_frame.

#include <atls/bytes.h>
#include <atls/error.h>
#include <atls/result.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atls::tls {

// kPreamble is "ATLS" followed by the version byte 1.
inline constexpr std::array<std::uint8_t, 5> kPreamble = {0x41, 0x54, 0x4C, 0x53, 0x01};

// kFrameHeaderSize is the size of type ‖ uint24 length.
inline constexpr std::size_t kFrameHeaderSize = 4;

// kMaxFrameBody is the largest body a uint24 length can describe.
inline constexpr std::size_t kMaxFrameBody = 0xFFFFFF;

enum class FrameType : std::uint8_t {
  AuthRequest = 0x01,    // one RFC 9261 authenticator request (handshake message 13 or 17)
  Authenticator = 0x02,  // one RFC 9261 authenticator (or an empty one)
  Data = 0x03,           // application bytes
  Alert = 0x04,          // uint8 code ‖ opaque reason<0..2^16-1>; the sender then closes
};

enum class AlertCode : std::uint8_t {
  AttestationRequired = 1,
  AttestationFailed = 2,
  UnsupportedAttestationSchemes = 3,
  UnexpectedMessage = 4,
  DecodeError = 5,
  Timeout = 6,
  InternalError = 7,
};

// alert_name returns the docs/wire-profile.md name of |code| ("attestation_required",
// ...), or "unknown" for a value outside the table.
std::string_view alert_name(AlertCode code);

// FrameLimits bound the body of a received frame by type: |data| for DATA,
// |control| for the others. A longer frame is FrameTooLarge (decode_error),
// detected from its header, before any of its body is buffered.
struct FrameLimits {
  std::size_t control = 64 * 1024;
  std::size_t data = 1024 * 1024;
};

// Frame is one decoded frame; |body| is owned.
struct Frame {
  FrameType type = FrameType::Data;
  Bytes body;
};

// Alert is a decoded ALERT body.
struct Alert {
  AlertCode code = AlertCode::InternalError;
  std::string reason;  // valid UTF-8, at most 65535 bytes
};

// encode_frame returns type ‖ uint24 length ‖ body. Fails with FrameTooLarge
// when |body| exceeds kMaxFrameBody (2^24-1) bytes. (Our own limits for
// what we send are the caller's business; the peer enforces its own.)
Result<Bytes> encode_frame(FrameType type, ByteView body);

// encode_alert returns an ALERT body: uint8 code ‖ uint16 len ‖ reason. It
// cannot fail: a reason that is not valid UTF-8 has every non-ASCII byte
// replaced by '?', and one over 65535 bytes is cut at a character boundary.
Bytes encode_alert(AlertCode code, std::string_view reason);

// alert_frame returns the whole ALERT frame (encode_frame of encode_alert).
Bytes alert_frame(AlertCode code, std::string_view reason);

// parse_alert parses an ALERT body. A short body, a reason that is not
// valid UTF-8, or trailing bytes fail with FrameMalformed. Codes outside the
// table are accepted (the sender closes anyway) and keep their value.
Result<Alert> parse_alert(ByteView body);

// alert_for returns the alert to send when validation or the stream fails
// with |code|:
//
//   | error code(s)                                        | alert                          |
//   |------------------------------------------------------|--------------------------------|
//   | AttestationRequired, EaNoAttestation,                | attestation_required (1)       |
//   |   EaEmptyAuthenticator                               |                                |
//   | NoCommonScheme, UnsupportedMediaType                 | unsupported_attestation_schemes (3) |
//   | UnexpectedFrame                                      | unexpected_message (4)         |
//   | FrameMalformed, FrameTooLarge, EaRequestMalformed,   | decode_error (5)               |
//   |   EaMalformed, NegotiationMalformed, Truncated,      |                                |
//   |   TrailingData, LengthOverflow                       |                                |
//   | AttestationTimeout                                   | timeout (6)                    |
//   | any other code of category Internal, Usage, Io,      | internal_error (7)             |
//   |   WouldBlock, Closed or Alert                        |                                |
//   | everything else (Protocol, BadEvidence,              | attestation_failed (2)         |
//   |   PolicyRejected: bad Finished/CertificateVerify,    |                                |
//   |   context, extension, evidence, appraisal, expiry)   |                                |
AlertCode alert_for(ErrorCode code);

// PreambleStatus is the outcome of FrameDecoder::check_preamble.
enum class PreambleStatus : std::uint8_t {
  Ok,           // the preamble was received and consumed
  NotPreamble,  // the bytes so far cannot be the preamble
  NeedMore,     // a (possibly empty) proper prefix of the preamble so far
};

// PreambleResult: for NotPreamble, |bytes| holds every byte fed so far, so
// a server can hand them unchanged to a plain-TLS application (docs/wire-profile.md
// §1.7); otherwise it is empty.
struct PreambleResult {
  PreambleStatus status = PreambleStatus::NeedMore;
  Bytes bytes;
};

// FrameDecoder decodes the atls stream incrementally. Feed it bytes as they
// arrive, in any split, then call next() until it yields no frame. It never
// allocates more than the bytes actually fed: a frame's declared length is
// checked against the limits when its 4-byte header is complete.
// After any error the decoder stays failed and every next() returns that
// error again. Not thread-safe.
class FrameDecoder {
 public:
  // When |expect_preamble|, the stream must start with kPreamble.
  explicit FrameDecoder(FrameLimits limits = {}, bool expect_preamble = true);

  // feed appends |data| to the internal buffer.
  void feed(ByteView data);

  // check_preamble inspects the buffered bytes for the preamble. Ok consumes
  // it (and is returned again on later calls); NotPreamble detaches and
  // returns the buffered bytes (the decoder is then failed with
  // FrameMalformed, so it can be used for nothing else); NeedMore keeps
  // them. A mismatch is reported as soon as one byte differs, without
  // waiting for five. Without |expect_preamble| it always returns Ok.
  PreambleResult check_preamble();

  // next returns the next complete frame, std::nullopt if more bytes are
  // needed, or an error: FrameMalformed for a missing preamble or an unknown
  // frame type, FrameTooLarge for a length over the type's limit.
  Result<std::optional<Frame>> next();

  // buffered returns the number of bytes fed but not yet consumed.
  std::size_t buffered() const { return m_buf.size() - m_pos; }

  // preamble_seen reports whether the preamble was consumed (or not expected).
  bool preamble_seen() const { return m_preamble_done; }

 private:
  void compact();

  FrameLimits m_limits;
  bool m_preamble_done;
  Bytes m_buf;
  std::size_t m_pos = 0;
  std::optional<Error> m_error;
};

}  // namespace atls::tls
