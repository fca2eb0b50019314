#include "src/tls/engine.h"

#include "src/attestation/evidence_cmw.h"
#include "src/attestation/relying_party.h"
#include "src/core/encoding.h"
#include "src/ossl/x509.h"
#include "src/tls/exporter.h"
#include "src/tls/negotiation.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <ctime>

namespace atls::internal {
namespace {

// One TLS record's worth of plaintext per DATA frame and per SSL_write.
constexpr std::size_t kChunk = 16384;
// Outbound bytes queued before write() pushes back.
constexpr std::size_t kOutCap = 4 * 1024 * 1024;
// Received application bytes held before reading from the socket pauses.
constexpr std::size_t kInCap = 8 * 1024 * 1024;
// How many issued requests are remembered (to tell reuse from forgery).
constexpr std::size_t kMaxIssued = 32;
// certificate_request_context size (PROTOCOL.md §1.3).
constexpr std::size_t kContextSize = 32;

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// SigpipeGuard keeps a write to a closed socket from killing the process:
// SIGPIPE is blocked in this thread for the duration of an SSL_write, and
// a SIGPIPE it raised is consumed before the mask is restored.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    m_ok = ::pthread_sigmask(SIG_BLOCK, &m_set, &m_old) == 0;
  }
  ~SigpipeGuard() {
    if (!m_ok) {
      return;
    }
    if (!m_was_pending) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&m_set, nullptr, &zero) > 0) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t m_set;
  sigset_t m_old;
  bool m_was_pending = false;
  bool m_ok = false;
};

// appraise_job is the part of validation that needs no SSL: verify the
// Evidence (or EAR), appraise it, apply the relying party's policy. It may
// run on a worker thread (async policy); it only reads |cs|.
Result<AttestationResult> appraise_job(const ConfigState& cs, const Evidence& evidence, const Bytes& binder,
                                       const Bytes& leaf_spki, bool passport) noexcept {
  try {
    const RelyingParty rp(cs.registry, *cs.clock, cs.policy);
    return rp.accept(evidence, passport ? Expectation::passport(leaf_spki) : Expectation::background_check(binder));
  } catch (const std::exception& e) {  // copying the expectation may throw bad_alloc
    return Error{ErrorCode::Internal, std::string("appraisal: ") + e.what()};
  }
}

Result<Evidence> guarded_attest(Attester& attester, const AttestationRequest& request) noexcept {
  try {
    return attester.attest(request);
  } catch (const std::exception& e) {
    return Error{ErrorCode::AttesterFailure, std::string(attester.name()) + ": " + e.what()};
  } catch (...) {
    return Error{ErrorCode::AttesterFailure, std::string(attester.name())};
  }
}

std::string alert_text(const tls::Alert& a) {
  std::string s = "peer alert " + std::to_string(static_cast<int>(a.code)) + " (" +
                  std::string(tls::alert_name(a.code)) + ")";
  if (!a.reason.empty()) {
    s += ": " + a.reason;
  }
  return s;
}

}  // namespace

bool fd_is_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

Result<void> set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Error{ErrorCode::IoError, std::string("fcntl(O_NONBLOCK): ") + std::strerror(errno)};
  }
  return ok();
}

Engine::Engine(std::shared_ptr<const Config> config, EngineOptions options)
    : m_config(std::move(config)),
      m_cs(config_state(*m_config)),
      m_opts(std::move(options)),
      m_decoder(m_cs.tls_frame_limits(), true) {}

Result<std::unique_ptr<Engine>> Engine::create(std::shared_ptr<const Config> config, EngineOptions options) {
  if (!config) {
    if (options.owns_fd && options.fd >= 0) {
      ::close(options.fd);
    }
    return Error{ErrorCode::InvalidArgument, "null config"};
  }
  // From here on the engine owns the fd: failures below close it.
  auto e = std::make_unique<Engine>(std::move(config), std::move(options));
  const ConfigState& cs = e->m_cs;
  const bool client = e->m_opts.role == Role::Client;
  if (e->m_opts.borrowed_ssl != nullptr) {
    e->m_ssl = e->m_opts.borrowed_ssl;
  } else {
    SSL_CTX* ctx = client ? cs.client_ctx.get() : cs.server_ctx.get();
    if (ctx == nullptr) {
      return Error{ErrorCode::InvalidArgument,
                   "a server needs a certificate chain and key, or attestation_only_identity()"};
    }
    e->m_owned_ssl.reset(::SSL_new(ctx));
    if (!e->m_owned_ssl) {
      return ossl::failure(ErrorCode::Internal, "SSL_new");
    }
    e->m_ssl = e->m_owned_ssl.get();
    if (e->m_opts.fd >= 0 && ::SSL_set_fd(e->m_ssl, e->m_opts.fd) != 1) {
      return ossl::failure(ErrorCode::Internal, "SSL_set_fd");
    }
  }
  if (e->m_opts.fd >= 0) {
    ATLS_TRY(set_nonblocking(e->m_opts.fd));
  }
  e->m_hs.config = &cs;
  e->m_hs.role = e->m_opts.role;
  ATLS_TRY(set_handshake_state(e->m_ssl, &e->m_hs));
  ::SSL_set_options(e->m_ssl, SSL_OP_NO_TICKET);
  if (e->m_owned_ssl) {
    // Read what the socket holds in one read(), not a header and a body
    // per record. read_available() always reads until SSL_read wants more
    // from the socket, so no complete record is left in libssl's buffer
    // while wait() polls. A borrowed SSL keeps its owner's setting.
    ::SSL_set_read_ahead(e->m_ssl, 1);
  }
  if (client) {
    ::SSL_set_connect_state(e->m_ssl);
    const std::string& host = e->m_opts.host;
    if (!host.empty()) {
      const bool ip = is_ip_literal(host);
      if (!ip && ::SSL_set_tlsext_host_name(e->m_ssl, host.c_str()) != 1) {
        return ossl::failure(ErrorCode::InvalidArgument, "SNI " + host);
      }
      if (cs.effective_cert_policy() == PeerCertificatePolicy::WebPki && !cs.dangerous_skip_cert_check &&
          !cs.dangerous_skip_hostname) {
        X509_VERIFY_PARAM* param = ::SSL_get0_param(e->m_ssl);  // owned by the SSL
        const int rc = ip ? ::X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                          : ::X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
        if (rc != 1) {
          return ossl::failure(ErrorCode::InvalidArgument, "host name check " + host);
        }
      }
    }
  } else {
    ::SSL_set_accept_state(e->m_ssl);
    if (::SSL_set_num_tickets(e->m_ssl, 0) != 1) {
      return ossl::failure(ErrorCode::Internal, "SSL_set_num_tickets");
    }
  }
  return e;
}

Engine::~Engine() {
  if (m_async && m_async->valid()) {
    m_async->wait();
  }
  if (m_ssl != nullptr) {
    if (m_hs_done && !m_closed && !m_error && m_owned_ssl) {
      SigpipeGuard guard;
      ERR_clear_error();
      ::SSL_shutdown(m_ssl);
    }
    (void)set_handshake_state(m_ssl, nullptr);
    ERR_clear_error();
  }
  if (m_opts.owns_fd && m_opts.fd >= 0) {
    ::close(m_opts.fd);
  }
}

std::int64_t Engine::now_s() const { return m_cs.clock->now(); }

bool Engine::is_attested() const {
  return m_rp && !m_error && m_attestation_count > 0 && now_s() < m_valid_until;
}

bool Engine::rp_pending() const { return m_rp && m_attestation_count == 0; }

bool Engine::may_deliver() const {
  if (m_stream == Stream::Plain) {
    return true;
  }
  return m_stream == Stream::Atls && (!m_rp || m_attestation_count > 0);
}

bool Engine::may_send() const {
  if (m_stream == Stream::Plain) {
    return true;
  }
  return m_stream == Stream::Atls && m_preamble_sent && (!m_rp || m_attestation_count > 0 || m_cs.async_policy);
}

void Engine::update_established() {
  if (m_error || m_established) {
    return;
  }
  if (m_stream == Stream::Plain) {
    m_established = true;
  } else if (m_stream == Stream::Atls) {
    m_established = m_peer_preamble && (!m_rp || m_attestation_count > 0 || m_cs.async_policy);
  }
}

int Engine::timeout_ms() const {
  long long best = -1;
  auto take = [&best](long long ms) {
    ms = std::max(0LL, ms);
    best = best < 0 ? ms : std::min(best, ms);
  };
  if (m_error || m_closed) {
    return -1;
  }
  if (m_deadline_armed) {
    take(std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - std::chrono::steady_clock::now())
             .count());
  }
  if (m_rp && m_attestation_count > 0) {
    // valid_until and renewal follow the injected Clock, which may not be
    // the real time: wake at least once a second to look at it.
    const std::int64_t next = m_request_outstanding ? m_valid_until : m_renew_at;
    take(std::min<long long>(1000, (next - now_s()) * 1000));
  }
  if (m_async) {
    take(5);
  }
  return static_cast<int>(best);
}

Error Engine::fail(Error e, bool send_alert) {
  if (m_error) {
    return *m_error;
  }
  m_error = e;
  m_established = false;
  if (send_alert && m_preamble_sent && m_stream == Stream::Atls) {
    const Bytes frame = tls::alert_frame(tls::alert_for(e.code), e.to_string());
    m_out.insert(m_out.end(), frame.begin(), frame.end());
  }
  drain_on_failure();
  return e;
}

void Engine::drain_on_failure() {
  if (m_ssl == nullptr || !m_hs_done) {
    return;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    (void)flush();
    if (m_out_pos >= m_out.size() || m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0 ||
        std::chrono::steady_clock::now() >= until) {
      break;
    }
    pollfd p{m_opts.fd, POLLOUT, 0};
    if (::poll(&p, 1, 50) < 0 && errno != EINTR) {
      break;
    }
  }
  SigpipeGuard guard;
  ERR_clear_error();
  ::SSL_shutdown(m_ssl);
  ERR_clear_error();
}

Error Engine::map_handshake_failure() {
  const std::string detail = ossl::drain_errors();
  if (m_hs.failure) {
    return *m_hs.failure;
  }
  if (m_opts.role == Role::Client) {
    const long v = ::SSL_get_verify_result(m_ssl);
    if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      return Error{ErrorCode::PeerHostnameMismatch, ::X509_verify_cert_error_string(v)};
    }
    if (v != X509_V_OK) {
      return Error{ErrorCode::PeerCertUntrusted, ::X509_verify_cert_error_string(v)};
    }
  }
  //= RFC 8446 §6.2: protocol_version(70) is sent when the peer's version
  //= is recognised but not supported.
  if (m_hs.alert_sent == SSL_AD_PROTOCOL_VERSION || m_hs.alert_received == SSL_AD_PROTOCOL_VERSION) {
    return Error{ErrorCode::TlsVersionUnsupported, "the peer does not offer TLS 1.3"};
  }
  if (m_hs.alert_received >= 0) {
    return Error{ErrorCode::TlsHandshakeFailed,
                 std::string("peer sent TLS alert ") + ::SSL_alert_desc_string_long(m_hs.alert_received) +
                     (detail.empty() ? "" : "; " + detail)};
  }
  return Error{ErrorCode::TlsHandshakeFailed, detail.empty() ? "the connection closed during the handshake" : detail};
}

Result<void> Engine::drive_handshake() {
  ERR_clear_error();
  int rc = 0;
  {
    SigpipeGuard guard;
    rc = ::SSL_do_handshake(m_ssl);
  }
  if (rc == 1) {
    m_hs_done = true;
    return on_handshake_done();
  }
  const int err = ::SSL_get_error(m_ssl, rc);
  if (err == SSL_ERROR_WANT_READ) {
    m_want_read = true;
    return ok();
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    m_want_write = true;
    return ok();
  }
  return fail(map_handshake_failure(), false);
}

Result<void> Engine::on_handshake_done() {
  if (::SSL_version(m_ssl) != TLS1_3_VERSION) {
    return fail(Error{ErrorCode::TlsVersionUnsupported, ::SSL_get_version(m_ssl)}, false);
  }
  if (::SSL_session_reused(m_ssl) == 1) {
    return fail(Error{ErrorCode::TlsResumptionRefused, "the handshake resumed a session"}, false);
  }
  const bool client = m_opts.role == Role::Client;
  if (client && !m_cs.dangerous_skip_cert_check &&
      m_cs.effective_cert_policy() == PeerCertificatePolicy::PinnedKey) {
    X509* peer = ::SSL_get0_peer_certificate(m_ssl);  // owned by the SSL
    if (peer == nullptr) {
      return fail(Error{ErrorCode::PinnedKeyMismatch, "the server sent no certificate"}, false);
    }
    auto h = spki_sha256(peer);
    if (!h) {
      return fail(std::move(h).error(), false);
    }
    if (std::find(m_cs.pins.begin(), m_cs.pins.end(), *h) == m_cs.pins.end()) {
      return fail(Error{ErrorCode::PinnedKeyMismatch, "TLS certificate key " + to_hex(*h)}, false);
    }
  }
  const AttestationMode want = m_cs.peer_attestation;
  const bool have_attester = m_cs.attester != nullptr;
  if (client) {
    if (m_cs.negotiation) {
      if (!m_hs.answer) {
        //= PROTOCOL.md §1.7: a client whose policy requires attestation and
        //= sees no answer aborts before sending a byte.
        if (want == AttestationMode::Required) {
          return fail(Error{ErrorCode::AttestationRequired, "the server did not answer atls_negotiation"}, false);
        }
        m_stream = Stream::Plain;
        return ok();
      }
      const bool server_attests = m_hs.answer->server_scheme.has_value();
      if (want == AttestationMode::Required && !server_attests) {
        return fail(Error{ErrorCode::AttestationRequired, "the server will not attest"}, false);
      }
      return start_atls_stream(want != AttestationMode::Off && server_attests);
    }
    if (want == AttestationMode::Off && !have_attester) {
      m_stream = Stream::Plain;
      return ok();
    }
    return start_atls_stream(want != AttestationMode::Off);
  }
  // Server.
  if (m_cs.negotiation && m_hs.offer && m_hs.answer) {
    return start_atls_stream(m_hs.answer->wants_client_attestation);
  }
  //= PROTOCOL.md §1.7: a server that receives no atls_negotiation reads the
  //= client's first 5 bytes.
  m_stream = Stream::Detecting;
  m_deadline = std::chrono::steady_clock::now() + m_cs.attestation_timeout;
  m_deadline_armed = true;
  return ok();
}

Result<void> Engine::start_atls_stream(bool rp) {
  m_stream = Stream::Atls;
  m_rp = rp;
  m_preamble_alone = m_out_pos >= m_out.size();
  m_out.insert(m_out.end(), tls::kPreamble.begin(), tls::kPreamble.end());
  m_preamble_sent = true;
  // The peer's preamble is due within attestation_timeout too.
  m_deadline = std::chrono::steady_clock::now() + m_cs.attestation_timeout;
  m_deadline_armed = true;
  if (m_rp) {
    //= PROTOCOL.md §1.3: the client RP sends its request in the same flight
    //= as its Finished.
    ATLS_TRY(issue_request());
  }
  return ok();
}

Result<void> Engine::issue_request() {
  Bytes context(kContextSize);
  m_cs.rng->fill(context);
  tls::AuthRequestOptions o;
  o.msg_type = m_opts.role == Role::Client ? tls::kClientCertificateRequest : tls::kCertificateRequest;
  o.context = std::move(context);
  o.request_attestation = true;
  o.schemes = m_cs.accepted_schemes();
  auto req = tls::encode_auth_request(o, m_cs.ext_codepoints());
  if (!req) {
    return fail(Error{ErrorCode::Internal, "authenticator request: " + req.error().to_string()});
  }
  const Bytes raw = req->raw;
  m_issued.push_back(IssuedRequest{std::move(*req), false, {}});
  if (m_issued.size() > kMaxIssued) {
    m_issued.erase(m_issued.begin());
  }
  m_request_outstanding = true;
  // The first attestation has attestation_timeout (reattest() arms it for
  // on-demand requests too); a scheduled renewal has until valid_until.
  m_deadline = std::chrono::steady_clock::now() + m_cs.attestation_timeout;
  m_deadline_armed = m_attestation_count == 0;
  return queue_frame(tls::FrameType::AuthRequest, raw);
}

Result<void> Engine::queue_frame(tls::FrameType type, ByteView body) {
  auto frame = tls::encode_frame(type, body);
  if (!frame) {
    return fail(std::move(frame).error());
  }
  m_out.insert(m_out.end(), frame->begin(), frame->end());
  m_preamble_alone = false;
  return ok();
}

Result<void> Engine::flush() {
  if (m_ssl == nullptr || !m_hs_done) {
    return ok();
  }
  if (m_out_pos >= m_out.size()) {
    // Nothing to write: no SIGPIPE to guard against (the guard costs four
    // system calls, and flush() runs twice per advance()).
    m_out.clear();
    m_out_pos = 0;
    return ok();
  }
  m_preamble_alone = false;
  SigpipeGuard guard;
  while (m_out_pos < m_out.size()) {
    const std::size_t len = m_inflight != 0 ? m_inflight : std::min(kChunk, m_out.size() - m_out_pos);
    ERR_clear_error();
    const int n = ::SSL_write(m_ssl, m_out.data() + m_out_pos, static_cast<int>(len));
    if (n > 0) {
      m_out_pos += static_cast<std::size_t>(n);
      m_inflight = 0;
      continue;
    }
    const int err = ::SSL_get_error(m_ssl, n);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      (err == SSL_ERROR_WANT_WRITE ? m_want_write : m_want_read) = true;
      m_inflight = len;
      return ok();
    }
    m_out.clear();
    m_out_pos = 0;
    m_inflight = 0;
    if (m_error) {
      return *m_error;
    }
    if (m_peer_closed) {
      return fail(Error{ErrorCode::ConnectionClosed, "the peer closed the connection"}, false);
    }
    return fail(Error{ErrorCode::IoError, "SSL_write: " + ossl::drain_errors()}, false);
  }
  m_out.clear();
  m_out_pos = 0;
  return ok();
}

Result<void> Engine::read_available() {
  std::uint8_t buf[kChunk];
  while (!m_peer_closed && !m_error && m_app_in.size() - m_app_pos < kInCap) {
    ERR_clear_error();
    const int n = ::SSL_read(m_ssl, buf, sizeof buf);
    if (n > 0) {
      ATLS_TRY(on_bytes(ByteView(buf, static_cast<std::size_t>(n))));
      continue;
    }
    const int err = ::SSL_get_error(m_ssl, n);
    if (err == SSL_ERROR_WANT_READ) {
      m_want_read = true;
      return ok();
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      m_want_write = true;
      return ok();
    }
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
      // close_notify, or EOF without one (a truncation the framing detects).
      ossl::drain_errors();
      m_peer_closed = true;
      return on_peer_closed();
    }
    return fail(Error{ErrorCode::IoError, "SSL_read: " + ossl::drain_errors()}, false);
  }
  return m_error ? Result<void>(*m_error) : ok();
}

Result<void> Engine::on_peer_closed() {
  if (m_stream == Stream::Detecting) {
    if (m_detect.empty() && m_cs.peer_attestation != AttestationMode::Required) {
      m_stream = Stream::Plain;
      return ok();
    }
    return on_bytes({});  // decide on the bytes we have
  }
  if (m_stream == Stream::Atls) {
    if (m_decoder.buffered() > 0) {
      return fail(Error{ErrorCode::FrameMalformed, "the stream ended inside a frame"}, false);
    }
    if (rp_pending()) {
      return fail(Error{ErrorCode::AttestationRequired, "the peer closed without attesting"}, false);
    }
  }
  return ok();
}

Result<void> Engine::on_bytes(ByteView data) {
  if (m_stream == Stream::Plain) {
    m_app_in.insert(m_app_in.end(), data.begin(), data.end());
    return ok();
  }
  if (m_stream == Stream::Detecting) {
    m_detect.insert(m_detect.end(), data.begin(), data.end());
    const std::size_t n = std::min(m_detect.size(), tls::kPreamble.size());
    const bool prefix = std::equal(m_detect.begin(), m_detect.begin() + static_cast<std::ptrdiff_t>(n),
                                   tls::kPreamble.begin());
    if (prefix && n < tls::kPreamble.size() && !m_peer_closed) {
      return ok();  // need more
    }
    m_deadline_armed = false;
    if (!prefix || n < tls::kPreamble.size()) {
      if (m_cs.peer_attestation == AttestationMode::Required) {
        return fail(Error{ErrorCode::AttestationRequired, "the client does not speak atls"}, false);
      }
      //= PROTOCOL.md §1.7: a plain TLS client; its bytes go to the
      //= application unchanged.
      m_stream = Stream::Plain;
      m_app_in = std::move(m_detect);
      m_app_pos = 0;
      m_detect.clear();
      return ok();
    }
    ATLS_TRY(start_atls_stream(m_cs.peer_attestation != AttestationMode::Off));
    const Bytes detected = std::move(m_detect);
    m_detect.clear();
    return on_bytes(detected);
  }
  if (m_stream != Stream::Atls) {
    return fail(Error{ErrorCode::Internal, "bytes before the stream was set up"}, false);
  }
  m_decoder.feed(data);
  if (!m_peer_preamble) {
    auto pr = m_decoder.check_preamble();
    if (pr.status == tls::PreambleStatus::NeedMore) {
      return ok();
    }
    if (pr.status == tls::PreambleStatus::NotPreamble) {
      //= PROTOCOL.md §1.2: an RP that requires attestation aborts if the
      //= first 5 bytes from the peer are not the preamble.
      if (m_rp) {
        return fail(Error{ErrorCode::AttestationRequired, "the peer's stream does not start with the preamble"});
      }
      return fail(Error{ErrorCode::FrameMalformed, "the peer's stream does not start with the preamble"});
    }
    m_peer_preamble = true;
    if (!m_rp) {
      m_deadline_armed = false;
    }
  }
  for (;;) {
    auto f = m_decoder.next();
    if (!f) {
      return fail(std::move(f).error());
    }
    if (!f->has_value()) {
      return ok();
    }
    ATLS_TRY(on_frame(std::move(**f)));
  }
}

Result<void> Engine::on_frame(tls::Frame frame) {
  switch (frame.type) {
    case tls::FrameType::AuthRequest:
      return on_auth_request(frame.body);
    case tls::FrameType::Authenticator:
      return on_authenticator(frame.body);
    case tls::FrameType::Data:
      m_app_in.insert(m_app_in.end(), frame.body.begin(), frame.body.end());
      return ok();
    case tls::FrameType::Alert: {
      auto a = tls::parse_alert(frame.body);
      if (!a) {
        return fail(std::move(a).error(), false);
      }
      m_peer_alert = PeerAlertInfo{static_cast<std::uint8_t>(a->code), a->reason};
      return fail(Error{ErrorCode::PeerAlert, alert_text(*a)}, false);
    }
  }
  return fail(Error{ErrorCode::UnexpectedFrame, "unknown frame type"});
}

Result<void> Engine::on_auth_request(ByteView body) {
  auto req = tls::parse_auth_request(body);
  if (!req) {
    return fail(std::move(req).error());
  }
  const bool server = m_opts.role == Role::Server;
  //= RFC 9261 §4: a client asks with ClientCertificateRequest (17), a
  //= server with CertificateRequest (13).
  const std::uint8_t expected = server ? tls::kClientCertificateRequest : tls::kCertificateRequest;
  if (req->msg_type != expected) {
    return fail(Error{ErrorCode::UnexpectedFrame, "authenticator request of the wrong type for our role"});
  }
  auto own_keys = tls::authenticator_keys(m_ssl, server);
  if (!own_keys) {
    return fail(std::move(own_keys).error());
  }
  auto wanted = tls::requested_attestation(*req, m_cs.ext_codepoints());
  if (!wanted) {
    return fail(std::move(wanted).error());
  }
  if (!m_cs.attester || !m_cs.has_identity()) {
    //= RFC 9261 §5.2.3: refuse with an empty authenticator.
    auto empty = tls::build_empty_authenticator(*own_keys, *req);
    if (!empty) {
      return fail(std::move(empty).error());
    }
    return queue_frame(tls::FrameType::Authenticator, *empty);
  }
  std::vector<tls::Extension> leaf_extensions;
  if (wanted->wants_attestation) {
    const auto own = m_cs.own_scheme();
    if (!wanted->schemes.empty()) {
      bool match = false;
      for (const auto& s : wanted->schemes) {
        match = match || (own && scheme_matches(s, *own));
      }
      if (!match) {
        return fail(Error{ErrorCode::NoCommonScheme, "the request lists no scheme our attester produces"});
      }
    }
    auto hash = tls::connection_hash(m_ssl);
    auto exported = tls::attestation_exporter(m_ssl, req->context);
    auto spki = !m_cs.leaf_spki.empty() ? Result<Bytes>(m_cs.leaf_spki)
                                        : ossl::cert_spki_der(m_cs.chain.front().get());
    if (!hash || !exported || !spki) {
      return fail(!hash ? hash.error() : !exported ? exported.error() : spki.error());
    }
    auto binder = tls::compute_binder(*hash, *spki, *exported);
    if (!binder) {
      return fail(std::move(binder).error());
    }
    AttestationRequest ar;
    ar.nonce = std::move(*binder);
    ar.media_types.emplace_back(m_cs.attester->media_type());
    ar.key_spki = std::move(*spki);
    auto evidence = guarded_attest(*m_cs.attester, ar);
    if (!evidence) {
      return fail(std::move(evidence).error());
    }
    auto ext = tls::cmw_extension(evidence->cmw, m_cs.ext_codepoints());
    if (!ext) {
      return fail(std::move(ext).error());
    }
    leaf_extensions.push_back(std::move(*ext));
  }
  auto auth = tls::build_authenticator(*own_keys, &*req, req->context, m_cs.chain_der, leaf_extensions,
                                       m_cs.key.get());
  if (!auth) {
    return fail(std::move(auth).error());
  }
  return queue_frame(tls::FrameType::Authenticator, *auth);
}

Result<void> Engine::check_peer_chain(const tls::ValidatedAuthenticator& va) {
  if (m_cs.dangerous_skip_cert_check) {
    return ok();
  }
  switch (m_cs.effective_cert_policy(m_opts.role)) {
    case PeerCertificatePolicy::AttestationOnly:
      return ok();
    case PeerCertificatePolicy::PinnedKey: {
      ATLS_ASSIGN_OR_RETURN(const Bytes h, ossl::digest(ossl::HashAlg::Sha256, va.leaf_spki));
      if (std::find(m_cs.pins.begin(), m_cs.pins.end(), h) == m_cs.pins.end()) {
        return Error{ErrorCode::PinnedKeyMismatch, "authenticator key " + to_hex(h)};
      }
      return ok();
    }
    case PeerCertificatePolicy::WebPki:
      break;
  }
  const bool client = m_opts.role == Role::Client;
  // The TLS certificate itself was checked by the handshake (chain and host).
  if (client) {
    X509* peer = ::SSL_get0_peer_certificate(m_ssl);  // owned by the SSL
    if (peer != nullptr && ::X509_cmp(peer, va.leaf.get()) == 0 && ::SSL_get_verify_result(m_ssl) == X509_V_OK) {
      return ok();
    }
  }
  // validate_authenticator decoded every entry already.
  std::vector<X509*> intermediates;
  intermediates.reserve(va.intermediates.size());
  for (const auto& c : va.intermediates) {
    intermediates.push_back(c.get());
  }
  ossl::ChainOptions opts;
  opts.at = now_s();
  if (!m_cs.ca_certs.empty()) {
    std::vector<X509*> roots;
    for (const auto& r : m_cs.ca_certs) {
      roots.push_back(r.get());
    }
    auto v = ossl::verify_chain(va.leaf.get(), intermediates, roots, opts);
    if (!v) {
      return Error{ErrorCode::PeerCertUntrusted, v.error().to_string()};
    }
  } else {
    ossl::UniquePtr<X509_STORE> store(::X509_STORE_new());
    ossl::UniquePtr<X509_STORE_CTX> ctx(::X509_STORE_CTX_new());
    ossl::X509Stack untrusted = ossl::new_x509_stack();
    if (!store || !ctx || !untrusted || ::X509_STORE_set_default_paths(store.get()) != 1) {
      return ossl::failure(ErrorCode::Internal, "X509_STORE");
    }
    for (X509* c : intermediates) {
      if (::sk_X509_push(untrusted.get(), c) <= 0) {
        return ossl::failure(ErrorCode::Internal, "sk_X509_push");
      }
      (void)ossl::up_ref(c).release();  // the stack owns one reference
    }
    if (::X509_STORE_CTX_init(ctx.get(), store.get(), va.leaf.get(), untrusted.get()) != 1) {
      return ossl::failure(ErrorCode::Internal, "X509_STORE_CTX_init");
    }
    ::X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(opts.at));
    if (::X509_verify_cert(ctx.get()) != 1) {
      const int err = ::X509_STORE_CTX_get_error(ctx.get());
      ossl::drain_errors();
      return Error{ErrorCode::PeerCertUntrusted, ::X509_verify_cert_error_string(err)};
    }
  }
  const std::string& host = m_opts.host;
  if (client && !host.empty() && !m_cs.dangerous_skip_hostname) {
    const int rc = is_ip_literal(host) ? ::X509_check_ip_asc(va.leaf.get(), host.c_str(), 0)
                                       : ::X509_check_host(va.leaf.get(), host.c_str(), host.size(), 0, nullptr);
    if (rc != 1) {
      return Error{ErrorCode::PeerHostnameMismatch, "the authenticator's certificate is not for " + host};
    }
  }
  return ok();
}

Result<void> Engine::on_authenticator(ByteView body) {
  if (!m_rp) {
    //= RFC 9261 §1.1 (specs.md): clients MUST NOT send an authenticator
    //= without a preceding request; we never accept spontaneous ones.
    return fail(Error{ErrorCode::UnexpectedFrame, "an authenticator we did not ask for"});
  }
  auto keys = peer_keys();
  if (!keys) {
    return fail(std::move(keys).error());
  }
  const tls::ExtensionCodepoints cp = m_cs.ext_codepoints();
  // The leaf usually repeats the TLS certificate (which libssl decoded), or
  // a certificate this config saw on an earlier connection.
  tls::CertificateReuse reuse;
  reuse.handshake_certificate = ::SSL_get0_peer_certificate(m_ssl);  // owned by the SSL
  reuse.cache = &m_cs.peer_certificates;
  auto context = tls::peek_context(body);
  if (!context) {
    if (context.error().code != ErrorCode::EaEmptyAuthenticator) {
      return fail(std::move(context).error());
    }
    // An empty authenticator names no context: it must verify against one
    // of our outstanding requests before it counts as a refusal.
    Error last{ErrorCode::EaBadFinished, "the empty authenticator answers none of our requests"};
    for (const auto& ir : m_issued) {
      if (ir.used) {
        continue;
      }
      auto v = tls::validate_authenticator(**keys, ir.request, body, cp, reuse);
      if (!v && v.error().code == ErrorCode::EaEmptyAuthenticator) {
        return fail(std::move(v).error());
      }
      if (!v) {
        last = std::move(v).error();
      }
    }
    return fail(std::move(last));
  }
  IssuedRequest* issued = nullptr;
  for (auto& ir : m_issued) {
    if (ir.request.context == *context) {
      issued = &ir;
    }
  }
  //= PROTOCOL.md §1.6: the context is one this RP issued and not yet used.
  if (issued == nullptr) {
    return fail(Error{ErrorCode::EaUnknownContext, "context " + to_hex(*context)});
  }
  auto va = tls::validate_authenticator(**keys, issued->request, body, cp, reuse);
  if (!va) {
    return fail(std::move(va).error());
  }
  if (auto c = check_peer_chain(*va); !c) {
    return fail(std::move(c).error());
  }
  if (issued->used) {
    return fail(Error{ErrorCode::EaContextReused, "context " + to_hex(*context)});
  }
  issued->used = true;
  if (!va->cmw) {
    return fail(Error{ErrorCode::EaNoAttestation, "the leaf carries no cmw_attestation"});
  }
  auto evidence = evidence_from_cmw(*va->cmw);
  if (!evidence) {
    return fail(std::move(evidence).error());
  }
  const bool passport = evidence->media_type() == kMediaTypeEar;
  if (!m_cs.accepts(passport ? AttestationModel::Passport : AttestationModel::BackgroundCheck)) {
    return fail(Error{ErrorCode::UnsupportedMediaType,
                      passport ? "passports are not accepted" : "evidence (background-check) is not accepted"});
  }
  auto hash = tls::connection_hash(m_ssl);
  // va->context is issued->request.context (validate_authenticator checked).
  auto exported = !issued->exported.empty() ? Result<Bytes>(issued->exported)
                                            : tls::attestation_exporter(m_ssl, va->context);
  if (!hash || !exported) {
    return fail(!hash ? hash.error() : exported.error());
  }
  //= PROTOCOL.md §1.5: binder = Hash(SPKI(leaf of the authenticator) || exported)
  auto binder = tls::compute_binder(*hash, va->leaf_spki, *exported);
  if (!binder) {
    return fail(std::move(binder).error());
  }
  if (m_async) {
    // One appraisal at a time: finish the previous one first.
    ATLS_TRY(finish_appraisal(m_async->get()));
    m_async.reset();
  }
  if (m_cs.async_policy) {
    m_async = std::async(std::launch::async,
                         [config = m_config, ev = std::move(*evidence), b = std::move(*binder),
                          spki = va->leaf_spki, passport]() {
                           return appraise_job(config_state(*config), ev, b, spki, passport);
                         });
    return ok();
  }
  return finish_appraisal(appraise_job(m_cs, *evidence, *binder, va->leaf_spki, passport));
}

Result<const tls::EaKeys*> Engine::peer_keys() {
  if (!m_peer_keys) {
    // The sender of the authenticators we validate is our peer.
    ATLS_ASSIGN_OR_RETURN(tls::EaKeys keys,
                          tls::authenticator_keys(m_ssl, m_opts.role == Role::Client));
    m_peer_keys = std::move(keys);
  }
  return &*m_peer_keys;
}

void Engine::prepare_for_answer() {
  if (!m_rp || !m_request_outstanding || m_error || !m_hs_done || m_issued.empty()) {
    return;
  }
  (void)peer_keys();
  IssuedRequest& last = m_issued.back();
  if (!last.used && last.exported.empty()) {
    if (auto e = tls::attestation_exporter(m_ssl, last.request.context)) {
      last.exported = std::move(*e);
    }
  }
}

Result<void> Engine::poll_async() {
  if (!m_async) {
    return ok();
  }
  if (m_async->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return ok();
  }
  auto r = m_async->get();
  m_async.reset();
  return finish_appraisal(std::move(r));
}

Result<void> Engine::finish_appraisal(Result<AttestationResult> result) {
  if (!result) {
    // Held DATA is dropped with the connection.
    m_app_in.clear();
    m_app_pos = 0;
    return fail(std::move(result).error());
  }
  m_result = std::move(*result);
  ++m_attestation_count;
  m_valid_until = m_result->valid_until();
  const std::int64_t lifetime = std::max<std::int64_t>(0, m_valid_until - now_s());
  const std::int64_t timeout_s =
      std::chrono::duration_cast<std::chrono::seconds>(m_cs.attestation_timeout).count() + 1;
  //= PROTOCOL.md §1.8: before valid_until the RP sends a new AUTH_REQUEST.
  m_renew_at = m_valid_until - std::min(timeout_s, lifetime / 2);
  m_request_outstanding = false;
  m_deadline_armed = false;
  return ok();
}

Result<void> Engine::timers() {
  if (m_error) {
    return *m_error;
  }
  if (m_deadline_armed && std::chrono::steady_clock::now() >= m_deadline) {
    m_deadline_armed = false;
    if (m_stream == Stream::Detecting) {
      if (m_cs.peer_attestation == AttestationMode::Required) {
        return fail(Error{ErrorCode::AttestationRequired, "no atls preamble within attestation_timeout"}, false);
      }
      m_stream = Stream::Plain;  // a plain client that has not spoken yet
      m_app_in = std::move(m_detect);
      m_app_pos = 0;
      m_detect.clear();
      return ok();
    }
    if (m_rp && m_request_outstanding) {
      //= PROTOCOL.md §1.2: no valid AUTHENTICATOR within attestation_timeout.
      return fail(Error{ErrorCode::AttestationTimeout,
                        "no valid authenticator within " + std::to_string(m_cs.attestation_timeout.count()) + " ms"});
    }
    if (m_stream == Stream::Atls && !m_peer_preamble) {
      return fail(Error{ErrorCode::AttestationTimeout, "no atls preamble from the peer within attestation_timeout"});
    }
  }
  if (m_rp && m_attestation_count > 0 && !m_async) {
    const std::int64_t t = now_s();
    if (t >= m_valid_until) {
      //= PROTOCOL.md §1.8: no valid answer by valid_until → attestation_failed.
      return fail(Error{ErrorCode::AttestationExpired, "valid_until " + std::to_string(m_valid_until) + " passed"});
    }
    if (!m_request_outstanding && t >= m_renew_at) {
      ATLS_TRY(issue_request());
      m_deadline_armed = false;
    }
  }
  return ok();
}

Result<void> Engine::advance() {
  m_want_read = false;
  m_want_write = false;
  if (m_error) {
    (void)flush();
    return *m_error;
  }
  if (m_closed) {
    return Error{ErrorCode::ConnectionClosed, "closed"};
  }
  if (!m_hs_done) {
    ATLS_TRY(drive_handshake());
    if (!m_hs_done) {
      return ok();
    }
  }
  // Queued output goes first, so that the peer can act on it (a request
  // it answers while we work on ours) -- except a preamble alone, which
  // gives the peer nothing to do: it waits for what reading produces in this
  // same call (the authenticator of an attester that is not an RP), so that
  // both leave in one record instead of waking the peer twice. Nothing
  // below blocks, and the flush at the end sends it in any case.
  if (!m_preamble_alone) {
    ATLS_TRY(flush());
  }
  ATLS_TRY(read_available());
  ATLS_TRY(poll_async());
  ATLS_TRY(timers());
  ATLS_TRY(flush());
  update_established();
  // Our request is on its way: use the wait for its answer.
  prepare_for_answer();
  return ok();
}

Result<void> Engine::wait() {
  if (m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0) {
    return Error{ErrorCode::WouldBlock, m_want_write ? "wants write" : "wants read"};
  }
  if (::SSL_pending(m_ssl) > 0) {
    return ok();
  }
  short events = 0;
  if (m_want_read) {
    events = static_cast<short>(events | POLLIN);
  }
  if (want_write()) {
    events = static_cast<short>(events | POLLOUT);
  }
  if (events == 0) {
    events = POLLIN;
  }
  pollfd p{m_opts.fd, events, 0};
  if (::poll(&p, 1, timeout_ms()) < 0 && errno != EINTR) {
    return fail(Error{ErrorCode::IoError, std::string("poll: ") + std::strerror(errno)}, false);
  }
  return ok();
}

Result<void> Engine::handshake() {
  for (;;) {
    ATLS_TRY(advance());
    if (m_established) {
      return ok();
    }
    if (m_peer_closed) {
      return fail(Error{ErrorCode::ConnectionClosed, "the peer closed the connection"}, false);
    }
    ATLS_TRY(wait());
  }
}

Result<std::size_t> Engine::read(std::span<std::uint8_t> out) {
  for (;;) {
    ATLS_TRY(advance());
    if (m_established && may_deliver() && m_app_pos < m_app_in.size()) {
      const std::size_t n = std::min(out.size(), m_app_in.size() - m_app_pos);
      std::copy_n(m_app_in.begin() + static_cast<std::ptrdiff_t>(m_app_pos), n, out.begin());
      m_app_pos += n;
      if (m_app_pos == m_app_in.size()) {
        m_app_in.clear();
        m_app_pos = 0;
      } else if (m_app_pos > kInCap / 2) {
        m_app_in.erase(m_app_in.begin(), m_app_in.begin() + static_cast<std::ptrdiff_t>(m_app_pos));
        m_app_pos = 0;
      }
      return n;
    }
    if (out.empty() && m_established) {
      return std::size_t{0};
    }
    if (m_peer_closed) {
      return Error{ErrorCode::ConnectionClosed, "the peer closed the connection"};
    }
    ATLS_TRY(wait());
  }
}

Result<std::size_t> Engine::write(ByteView data) {
  std::size_t done = 0;
  for (;;) {
    ATLS_TRY(advance());
    if (m_established && may_send()) {
      while (done < data.size() && m_out.size() - m_out_pos < kOutCap) {
        const std::size_t n = std::min(kChunk, data.size() - done);
        const ByteView chunk = data.subspan(done, n);
        if (m_stream == Stream::Atls) {
          ATLS_TRY(queue_frame(tls::FrameType::Data, chunk));
        } else {
          m_out.insert(m_out.end(), chunk.begin(), chunk.end());
        }
        done += n;
      }
      ATLS_TRY(flush());
      if (m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0) {
        if (done > 0 || data.empty()) {
          return done;
        }
        return Error{ErrorCode::WouldBlock, "the send queue is full"};
      }
      if (done == data.size() && m_out_pos >= m_out.size()) {
        return done;
      }
    } else if (m_peer_closed) {
      return Error{ErrorCode::ConnectionClosed, "the peer closed the connection"};
    }
    ATLS_TRY(wait());
  }
}

Result<void> Engine::process() { return advance(); }

Result<void> Engine::reattest() {
  ATLS_TRY(advance());
  if (!m_rp || m_stream != Stream::Atls) {
    return Error{ErrorCode::InvalidArgument, "this endpoint does not appraise its peer"};
  }
  const std::size_t before = m_attestation_count;
  if (!m_request_outstanding) {
    ATLS_TRY(issue_request());
  }
  m_deadline = std::chrono::steady_clock::now() + m_cs.attestation_timeout;
  m_deadline_armed = true;
  ATLS_TRY(flush());
  if (m_opts.mode == IoMode::NonBlocking || m_opts.fd < 0) {
    return ok();
  }
  while (m_attestation_count == before) {
    ATLS_TRY(wait());
    ATLS_TRY(advance());
    if (m_peer_closed && m_attestation_count == before) {
      return fail(Error{ErrorCode::ConnectionClosed, "the peer closed before re-attesting"}, false);
    }
  }
  return ok();
}

Result<void> Engine::close() {
  if (m_closed) {
    return ok();
  }
  if (m_hs_done && !m_error) {
    if (m_opts.mode == IoMode::Blocking && m_opts.fd >= 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (m_out_pos < m_out.size() && std::chrono::steady_clock::now() < until) {
        if (!flush()) {
          break;
        }
        if (m_out_pos < m_out.size()) {
          pollfd p{m_opts.fd, POLLOUT, 0};
          ::poll(&p, 1, 50);
        }
      }
    } else {
      (void)flush();
    }
    SigpipeGuard guard;
    ERR_clear_error();
    ::SSL_shutdown(m_ssl);
    ERR_clear_error();
  }
  m_closed = true;
  return ok();
}

}  // namespace atls::internal
