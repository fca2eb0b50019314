#pragma once

// Attested TLS connections: Client connects, Server accepts, Connection
// carries application bytes once the peer is attested (docs/wire-profile.md §1).
//
// Blocking use (the default): Client::connect and Server::accept return once
// the TLS handshake is done and the peer's attestation (if this endpoint
// requires one) has been appraised; read() and write() block, and keep
// answering and issuing attestation requests meanwhile. A silent peer
// cannot hold them forever: the handshake has handshake_timeout and the
// first attestation attestation_timeout (Config::Builder).
//
// Non-blocking use (IoMode::NonBlocking): every call returns at once;
// an error of category ErrorCategory::WouldBlock (code WouldBlock) means
// "call again when the socket is ready". Drive a connection like this:
//
//   for (;;) {
//     auto r = conn.handshake();             // or read()/write()
//     if (r || r.error().category() != ErrorCategory::WouldBlock) break;
//     pollfd p{conn.fd(), short((conn.want_read() ? POLLIN : 0) |
//                              (conn.want_write() ? POLLOUT : 0)), 0};
//     ::poll(&p, 1, conn.timeout_ms());       // timers: timeout, re-attestation
//   }
//
// handshake() must succeed before read()/write() carry application data
// (they call it themselves). timeout_ms() is -1 when no timer is armed.
// A Connection is used by one thread at a time.
//
// The library runs no threads of its own (except the appraisal worker of
// the async policy): a Connection answers the peer's attestation requests,
// renews the peer's attestation and fires its timers only inside calls to
// handshake(), read(), write(), process() and reattest(). An application
// that sits idle for long (no read pending) should call process() when its
// socket becomes readable or timeout_ms() elapses; a blocking read() does
// this by itself.

#include <atls/bytes.h>
#include <atls/config.h>
#include <atls/export.h>
#include <atls/result.h>
#include <atls/verifier.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace atls {

namespace internal {
class Engine;
struct ConnectionAccess;
}  // namespace internal

// IoMode selects blocking or non-blocking operation of a Connection.
enum class IoMode : std::uint8_t { Blocking, NonBlocking };

// PeerAlertInfo is the ALERT frame a peer sent before closing (docs/wire-profile.md §1.2).
struct PeerAlertInfo {
  // code: 1 attestation_required, 2 attestation_failed,
  // 3 unsupported_attestation_schemes, 4 unexpected_message, 5 decode_error,
  // 6 timeout, 7 internal_error.
  std::uint8_t code = 0;
  std::string reason;
};

// Connection is one attested TLS connection. It owns its socket (when it
// was created by Client or Server) and its SSL object; when it was made by
// the functions of <atls/openssl.h> it only borrows the caller's SSL*.
// Errors are sticky: after a failure every call returns the same error.
class ATLS_API Connection {
 public:
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // The destructor sends close_notify on an owned SSL (best effort, never
  // blocks) and closes an owned socket.
  ~Connection();

  // handshake completes the TLS handshake, the preamble exchange and the
  // peer's first attestation. Fails with the TLS codes (TlsHandshakeFailed,
  // TlsVersionUnsupported, TlsResumptionRefused), AttestationRequired,
  // AttestationTimeout, an Ea* code, the appraisal's code (NonceMismatch,
  // MeasurementMismatch, MachineIdMismatch, EvidenceStale, ...), PeerAlert,
  // or WouldBlock in non-blocking mode.
  Result<void> handshake();

  // read copies up to out.size() application bytes into |out| and returns
  // how many (at least 1). Fails with ConnectionClosed once the peer has
  // closed and every byte was read, WouldBlock (non-blocking mode), or any
  // error of handshake(), AttestationExpired (no renewed attestation by
  // valid_until) and the framing codes.
  Result<std::size_t> read(std::span<std::uint8_t> out);

  // write sends application bytes and returns how many were accepted
  // (blocking mode: all of them). No byte is sent before the peer is
  // attested, unless the async attestation policy is on.
  Result<std::size_t> write(ByteView data);

  // close sends close_notify and shuts the connection down. Further reads
  // and writes fail with ConnectionClosed.
  Result<void> close();

  // shutdown_write ends this side's direction only (a half-close, like
  // shutdown(SHUT_WR)): what was written goes out, then close_notify; the
  // peer reads ConnectionClosed after the last byte and may go on writing,
  // and read() here goes on until it closes too. Afterwards write() fails
  // with ConnectionClosed, and this endpoint sends no more atls frames: a
  // re-attestation the peer asks for is not answered (its attestation of
  // us then ends at valid_until), and none is requested. Fails with
  // InvalidArgument before the connection is established.
  Result<void> shutdown_write();

  // reattest asks the peer for fresh attestation now (a new request with a
  // fresh context) while DATA keeps flowing; the result replaces
  // peer_result() when it arrives. Fails with InvalidArgument when this
  // endpoint does not appraise its peer.
  Result<void> reattest();

  // is_attested reports whether the peer's current attestation is valid.
  bool is_attested() const;
  // is_plain_tls reports an Optional-attestation connection that fell back
  // to plain TLS (the peer has no atls).
  bool is_plain_tls() const;
  // peer_result returns the appraisal of the peer's latest attestation
  // (claims, tier, machine id, valid_until), or nullptr before the first.
  // The pointer stays valid until the next call on this Connection.
  const AttestationResult* peer_result() const;
  // attestation_count is how many of the peer's authenticators were
  // accepted on this connection (1 + re-attestations).
  std::size_t attestation_count() const;
  // exporter_label is the binder label this connection uses
  // (ExporterLabelPolicy); meaningless on a plain TLS connection.
  ExporterLabel exporter_label() const;
  // via_gateway_token reports a connection opened with a gateway token's
  // PSK (docs/gateway.md): on a server, peer_result() is the appraisal the
  // token carries (no claims); on a client, the server proved it holds the
  // gateway key and did not attest. No atls frames follow the handshake.
  bool via_gateway_token() const;
  // peer_pushed reports whether the peer's first attestation came in its
  // first flight, unrequested (docs/wire-profile.md §1.9).
  bool peer_pushed() const;
  // peer_alert is the ALERT the peer sent, if any.
  std::optional<PeerAlertInfo> peer_alert() const;

  // For non-blocking mode: the socket, what it waits for, and the time in
  // milliseconds until the next timer (-1: none).
  int fd() const;
  bool want_read() const;
  bool want_write() const;
  int timeout_ms() const;
  // process runs timers and pending protocol work (answering requests,
  // re-attestation) without transferring application data. Non-blocking
  // applications call it when poll() reports readiness or a timeout while
  // they have nothing to read or write.
  Result<void> process();

  // For event loops: work that can block for long -- producing this
  // endpoint's Evidence (a TPM quote, a remote Verifier call), appraising
  // the peer's, opening a remote Verifier session -- need not run on the
  // I/O thread. With defer_attestation_work(true) (non-blocking mode only;
  // InvalidArgument otherwise) a call stops before such work and returns
  // WouldBlock with attestation_work_pending() true. The application then
  // calls run_attestation_work() on another thread (no other call on this
  // Connection meanwhile): it does that work and everything else possible
  // without blocking. Then it drives the connection as before; more work
  // may be pending again later (a re-attestation).
  Result<void> defer_attestation_work(bool on);
  bool attestation_work_pending() const;
  Result<void> run_attestation_work();

 private:
  friend struct internal::ConnectionAccess;
  explicit Connection(std::unique_ptr<internal::Engine> engine);
  std::unique_ptr<internal::Engine> m_engine;
};

// Client opens attested connections.
class ATLS_API Client {
 public:
  // connect resolves |host| (IPv4/IPv6), connects over TCP to |port| and
  // runs handshake(); |host| is also the SNI and the WebPKI name. Fails
  // with IoError (resolution, connect) or any error of handshake(). In
  // non-blocking mode the TCP connection is made blocking first and the
  // handshake is left to the caller.
  static Result<Connection> connect(std::shared_ptr<const Config> config, const std::string& host,
                                    std::uint16_t port, IoMode mode = IoMode::Blocking);
  // connect_fd runs over an already connected socket and takes ownership
  // of |fd| (closed by the Connection, also on failure). |host| is the SNI
  // and WebPKI name; under PeerCertificatePolicy::WebPki it must not be
  // empty (InvalidArgument).
  static Result<Connection> connect_fd(std::shared_ptr<const Config> config, int fd,
                                       const std::string& host, IoMode mode = IoMode::Blocking);
};

// Server accepts attested connections on a listening socket.
class ATLS_API Server {
 public:
  // listen binds a TCP listener to |address| (an IP literal, e.g.
  // "127.0.0.1") and |port| (0: any free port; see port()). Fails with
  // IoError or InvalidArgument.
  static Result<Server> listen(std::shared_ptr<const Config> config, const std::string& address,
                               std::uint16_t port);
  // from_listen_fd takes ownership of an already listening socket (closed
  // also on failure). Fails with InvalidArgument.
  static Result<Server> from_listen_fd(std::shared_ptr<const Config> config, int fd);

  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // accept waits for a TCP connection and runs handshake() on it (blocking
  // mode). Fails with IoError, or with the error of handshake() on that
  // connection, e.g. HandshakeTimeout for a client that stays silent (the
  // connection is then closed; call accept again).
  Result<Connection> accept(IoMode mode = IoMode::Blocking);
  // accept_fd runs the server side over an accepted socket, taking
  // ownership of |fd| (closed also on failure). Blocking mode runs handshake(); non-blocking mode
  // leaves it to the caller.
  Result<Connection> accept_fd(int fd, IoMode mode = IoMode::Blocking);

  // port is the bound TCP port; listen_fd the listening socket (owned).
  std::uint16_t port() const { return m_port; }
  int listen_fd() const { return m_fd; }
  const std::shared_ptr<const Config>& config() const { return m_config; }

 private:
  Server(std::shared_ptr<const Config> config, int fd, std::uint16_t port);
  std::shared_ptr<const Config> m_config;
  int m_fd = -1;
  std::uint16_t m_port = 0;
};

}  // namespace atls
