#include "src/tls/frame.h"

#include "src/core/byte_reader.h"
#include "src/core/encoding.h"

#include <algorithm>
#include <utility>

namespace atls::tls {
namespace {

bool is_known_type(std::uint8_t t) {
  return t >= static_cast<std::uint8_t>(FrameType::AuthRequest) &&
         t <= static_cast<std::uint8_t>(FrameType::Alert);
}

// sanitize_reason makes |reason| a valid UTF-8 string of at most 65535
// bytes, so that encode_alert cannot fail.
std::string sanitize_reason(std::string_view reason) {
  std::string s(reason);
  if (!is_valid_utf8(s)) {
    for (char& c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        c = '?';
      }
    }
  }
  if (s.size() > 0xffff) {
    std::size_t cut = 0xffff;
    // Back up over continuation bytes (10xxxxxx) to a character boundary.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    s.resize(cut);
  }
  return s;
}

}  // namespace

std::string_view alert_name(AlertCode code) {
  switch (code) {
    case AlertCode::AttestationRequired:
      return "attestation_required";
    case AlertCode::AttestationFailed:
      return "attestation_failed";
    case AlertCode::UnsupportedAttestationSchemes:
      return "unsupported_attestation_schemes";
    case AlertCode::UnexpectedMessage:
      return "unexpected_message";
    case AlertCode::DecodeError:
      return "decode_error";
    case AlertCode::Timeout:
      return "timeout";
    case AlertCode::InternalError:
      return "internal_error";
  }
  return "unknown";
}

Result<Bytes> encode_frame(FrameType type, ByteView body) {
  if (body.size() > kMaxFrameBody) {
    return Error{ErrorCode::FrameTooLarge, std::to_string(body.size()) + "-byte frame body"};
  }
  ByteWriter w;
  w.u8(static_cast<std::uint8_t>(type));
  w.u24(static_cast<std::uint32_t>(body.size()));
  w.bytes(body);
  return w.take();
}

Bytes encode_alert(AlertCode code, std::string_view reason) {
  const std::string text = sanitize_reason(reason);
  ByteWriter w;
  w.u8(static_cast<std::uint8_t>(code));
  w.u16(static_cast<std::uint16_t>(text.size()));  // sanitize_reason bounds it to 65535
  w.bytes(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  return w.take();
}

Bytes alert_frame(AlertCode code, std::string_view reason) {
  const Bytes body = encode_alert(code, reason);
  Bytes out;
  out.reserve(kFrameHeaderSize + body.size());
  out.push_back(static_cast<std::uint8_t>(FrameType::Alert));
  // The body is at most 3 + 65535 bytes, far below kMaxFrameBody.
  out.push_back(0);
  out.push_back(static_cast<std::uint8_t>(body.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<Alert> parse_alert(ByteView body) {
  ByteReader r(body);
  auto code = r.u8();
  if (!code) {
    return Error{ErrorCode::FrameMalformed, "empty ALERT body"};
  }
  auto reason = r.vector16();
  if (!reason) {
    return Error{ErrorCode::FrameMalformed, "ALERT reason length exceeds the body"};
  }
  if (!r.empty()) {
    return Error{ErrorCode::FrameMalformed, "trailing bytes in ALERT"};
  }
  Alert a;
  a.code = static_cast<AlertCode>(*code);
  a.reason = std::string(as_string_view(*reason));
  if (!is_valid_utf8(a.reason)) {
    return Error{ErrorCode::FrameMalformed, "ALERT reason is not UTF-8"};
  }
  return a;
}

AlertCode alert_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::AttestationRequired:
    case ErrorCode::EaNoAttestation:
    case ErrorCode::EaEmptyAuthenticator:
      return AlertCode::AttestationRequired;
    case ErrorCode::NoCommonScheme:
    case ErrorCode::UnsupportedMediaType:
      return AlertCode::UnsupportedAttestationSchemes;
    case ErrorCode::UnexpectedFrame:
    //= docs/wire-profile.md §1.9: any spontaneous authenticator but the one
    //= agreed push is unexpected_message.
    case ErrorCode::PushUnsolicited:
    case ErrorCode::PushRepeated:
    case ErrorCode::PushContextReused:
    case ErrorCode::PushLate:
      return AlertCode::UnexpectedMessage;
    case ErrorCode::FrameMalformed:
    case ErrorCode::FrameTooLarge:
    case ErrorCode::EaRequestMalformed:
    case ErrorCode::EaMalformed:
    case ErrorCode::NegotiationMalformed:
    case ErrorCode::Truncated:
    case ErrorCode::TrailingData:
    case ErrorCode::LengthOverflow:
      return AlertCode::DecodeError;
    case ErrorCode::AttestationTimeout:
      return AlertCode::Timeout;
    // The relying party's own Verifier failed it, not the peer's Evidence.
    case ErrorCode::VerifierUnavailable:
    case ErrorCode::VerifierTimeout:
    case ErrorCode::VerifierRejected:
    case ErrorCode::VerifierSessionInvalid:
    case ErrorCode::VerifierSessionExpired:
      return AlertCode::InternalError;
    default:
      break;
  }
  switch (error_category(code)) {
    case ErrorCategory::Protocol:
    case ErrorCategory::BadEvidence:
    case ErrorCategory::PolicyRejected:
      return AlertCode::AttestationFailed;
    default:
      return AlertCode::InternalError;
  }
}

// ---------------------------------------------------------------------------

FrameDecoder::FrameDecoder(FrameLimits limits, bool expect_preamble)
    : m_limits(limits), m_preamble_done(!expect_preamble) {}

void FrameDecoder::feed(ByteView data) {
  if (m_error) {
    return;  // a failed stream is never read again
  }
  compact();
  m_buf.insert(m_buf.end(), data.begin(), data.end());
}

void FrameDecoder::compact() {
  // Drop consumed bytes once they dominate the buffer, so memory stays
  // proportional to what is pending, at amortised linear cost.
  if (m_pos > 0 && m_pos * 2 >= m_buf.size()) {
    m_buf.erase(m_buf.begin(), m_buf.begin() + static_cast<std::ptrdiff_t>(m_pos));
    m_pos = 0;
  }
}

PreambleResult FrameDecoder::check_preamble() {
  if (m_preamble_done) {
    return {PreambleStatus::Ok, {}};
  }
  if (m_error) {
    return {PreambleStatus::NotPreamble, {}};
  }
  const std::size_t have = std::min(buffered(), kPreamble.size());
  const auto pending = ByteView(m_buf).subspan(m_pos, have);
  if (!std::equal(pending.begin(), pending.end(), kPreamble.begin())) {
    PreambleResult r{PreambleStatus::NotPreamble,
                     Bytes(m_buf.begin() + static_cast<std::ptrdiff_t>(m_pos), m_buf.end())};
    m_buf.clear();
    m_pos = 0;
    m_error = Error{ErrorCode::FrameMalformed, "stream does not start with the atls preamble"};
    return r;
  }
  if (have < kPreamble.size()) {
    return {PreambleStatus::NeedMore, {}};
  }
  m_pos += kPreamble.size();
  m_preamble_done = true;
  return {PreambleStatus::Ok, {}};
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (m_error) {
    return *m_error;
  }
  if (!m_preamble_done) {
    const PreambleResult p = check_preamble();
    if (p.status == PreambleStatus::NeedMore) {
      return std::optional<Frame>{};
    }
    if (p.status == PreambleStatus::NotPreamble) {
      return *m_error;
    }
  }
  if (buffered() == 0) {
    return std::optional<Frame>{};
  }
  const std::uint8_t type = m_buf[m_pos];
  if (!is_known_type(type)) {
    m_error = Error{ErrorCode::FrameMalformed, "unknown frame type " + std::to_string(type)};
    return *m_error;
  }
  if (buffered() < kFrameHeaderSize) {
    return std::optional<Frame>{};
  }
  const std::size_t length = (static_cast<std::size_t>(m_buf[m_pos + 1]) << 16) |
                             (static_cast<std::size_t>(m_buf[m_pos + 2]) << 8) |
                             static_cast<std::size_t>(m_buf[m_pos + 3]);
  const auto frame_type = static_cast<FrameType>(type);
  const std::size_t limit = frame_type == FrameType::Data ? m_limits.data : m_limits.control;
  if (length > limit) {
    m_error = Error{ErrorCode::FrameTooLarge, "frame type " + std::to_string(type) + " of " +
                                                  std::to_string(length) + " bytes (limit " +
                                                  std::to_string(limit) + ")"};
    return *m_error;
  }
  if (buffered() - kFrameHeaderSize < length) {
    return std::optional<Frame>{};
  }
  const auto start = m_buf.begin() + static_cast<std::ptrdiff_t>(m_pos + kFrameHeaderSize);
  Frame f{frame_type, Bytes(start, start + static_cast<std::ptrdiff_t>(length))};
  m_pos += kFrameHeaderSize + length;
  if (m_pos == m_buf.size()) {
    m_buf.clear();
    m_pos = 0;
  }
  return std::optional<Frame>(std::move(f));
}

}  // namespace atls::tls
