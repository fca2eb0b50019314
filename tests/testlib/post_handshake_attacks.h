#pragma once

// The attacks of the security matrix (docs/security-matrix.md) against the
// post-handshake mode (docs/wire-profile.md §1), each written once: the
// matrix's cells (tests/testlib/attack_matrix.cc) run them for both ways the
// server's first authenticator arrives, and tls_attack_test.cc,
// tls_attack_tpm_test.cc call them with other attesters. Each returns the
// victim's outcome: its error when it refused the attack.

#include <atls/atls.h>

#include "tests/testlib/attack_fixture.h"
#include "tests/testlib/tls_harness.h"

#include <atomic>
#include <memory>
#include <string>

namespace atls::test {

// How the attested server delivers its first authenticator: as the answer
// to the client's request, or pushed in its first flight (§1.9).
enum class Delivery { Request, Push };

// SwitchingAttester answers the first request with one attester and every
// later one with another (a machine whose state changes under a live
// connection).
class SwitchingAttester final : public Attester {
 public:
  SwitchingAttester(std::shared_ptr<Attester> first, std::shared_ptr<Attester> later)
      : m_first(std::move(first)), m_later(std::move(later)) {}
  std::string_view name() const override { return "switching"; }
  std::string_view media_type() const override { return m_first->media_type(); }
  Result<Evidence> attest(const AttestationRequest& request) override {
    return (m_calls++ == 0 ? m_first : m_later)->attest(request);
  }

 private:
  std::shared_ptr<Attester> m_first;
  std::shared_ptr<Attester> m_later;
  std::atomic<int> m_calls{0};
};

// capture_answer: the authenticator an honest attested server (attesting
// with |f|'s genuine attester, not pushing) sends to a client of the
// attacker's own that asks with |context|, on another connection.
Bytes capture_answer(AttackFixture& f, ByteView context);

// relay_through_mitm: a TLS-terminating man in the middle opens its own
// connection to an honest server, forwards the victim's request (Request)
// or takes the server's push (Push), and hands the victim the genuine
// authenticator.
Result<Connection> relay_through_mitm(AttackFixture& f, Delivery d);

// replay_authenticator: a whole authenticator recorded on another
// connection, presented unchanged.
Result<Connection> replay_authenticator(AttackFixture& f, Delivery d);

// replay_evidence: genuine Evidence recorded on one connection, in a fresh,
// correctly signed authenticator on the next one.
Result<Connection> replay_evidence(AttackFixture& f, Delivery d);

// substitute_key: Evidence that binds key A on this very connection, in an
// authenticator signed with the attacker's key B.
Result<Connection> substitute_key(AttackFixture& f, Delivery d);

// reflect_authenticator: mutual attestation; the attacker asks the victim
// to attest and sends the victim's own authenticator back as its own
// (Request: asked with the victim's context; Push: as the push).
Result<Connection> reflect_authenticator(Delivery d);

// downgrade_to_plain_tls: the victim, which requires attestation, meets a
// stock TLS 1.3 server (the atls negotiation stripped); it must send no
// application byte (checked here).
Result<Connection> downgrade_to_plain_tls(Delivery d);

// connect_to_attested_server: a real server attesting with |attester|
// (pushing or not, as |d| says) and a client relying party built from
// |client| (which must require attestation); the client's outcome.
Result<Connection> connect_to_attested_server(std::shared_ptr<Attester> attester,
                                              Config::Builder client, Delivery d);

// renewal_outcome: a real server attests with |first| and answers every
// renewal with |later|; a client with |policy_json| (whose
// reattest_interval must be 60 s) connects, moves its clock into the renewal
// window and exchanges data until the connection fails (at most 5 s).
// Returns that failure, or ok when the connection survived; the first
// attestation must succeed (test failure otherwise).
Result<void> renewal_outcome(std::shared_ptr<Attester> first, std::shared_ptr<Attester> later,
                             const std::string& policy_json, Delivery d);

// unreachable_url: an http:// URL on loopback where nothing listens.
std::string unreachable_url();

}  // namespace atls::test
