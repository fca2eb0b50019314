#pragma once

// AttackFixture: a genuine attester that the victim client trusts, and an
// attacker endpoint holding a certificate the victim also trusts, so that only
// the attestation checks stand in the way. The attacker is a RawPeer that
// speaks the atls stream by hand (tests/unit/tls_attack_test.cc and
// tls_attack_tpm_test.cc).

#include <atls/atls.h>

#include "src/tls/auth_request.h"
#include "tests/testlib/tls_harness.h"

#include <functional>
#include <memory>
#include <string>

namespace atls::test {

using Script = std::function<void(RawPeer& peer, const tls::AuthRequest& request)>;

struct AttackFixture {
  SoftwareAttesterBundle genuine = make_software_bundle();
  std::shared_ptr<Attester> attester;      // the genuine platform's attester
  std::shared_ptr<const Config> attacker;  // as a server: advertises the genuine scheme
  // The same, agreeing to push its authenticator (docs/wire-profile.md §1.9).
  std::shared_ptr<const Config> pushing_attacker;
  std::shared_ptr<const Config> victim;  // client: requires server attestation

  // The software attester of |genuine|, trusted by software_policy().
  explicit AttackFixture(std::function<void(Config::Builder&)> tweak_victim = {});
  // |genuine_attester|, trusted by |victim_policy| (JSON).
  AttackFixture(std::shared_ptr<Attester> genuine_attester, const std::string& victim_policy);

  // run accepts the victim on a RawPeer speaking as |attacker| (or |as|),
  // exchanges preambles, reads the victim's request and runs |script|; then
  // it waits for the victim to close. Returns the victim's connect result,
  // or the error of |after_connect| (default: one read).
  Result<Connection> run(const Script& script, std::shared_ptr<const Config> as = nullptr,
                         const std::function<Result<void>(Connection&)>& after_connect = {});

  // run_push accepts the victim as |pushing_attacker| (the victim accepts
  // a push, so it sends no request), exchanges preambles and runs
  // |script|, which sends the attacker's first frames.
  Result<Connection> run_push(const std::function<void(RawPeer& peer)>& script,
                              const std::function<Result<void>(Connection&)>& after_connect = {});

  // genuine_answer builds what an honest attested server would send.
  Bytes genuine_answer(RawPeer& peer, const tls::AuthRequest& req);
  // genuine_push builds an honest pushed authenticator for |context|.
  Bytes genuine_push(RawPeer& peer, ByteView context);
  // bound_push builds a pushed authenticator for |context| whose Evidence
  // is bound to |evidence_context| (genuine_push when they are equal), with
  // |extra| extensions on the leaf.
  Bytes bound_push(RawPeer& peer, ByteView context, ByteView evidence_context,
                   std::vector<tls::Extension> extra = {});

 private:
  void make_attackers();
  Result<Connection> connect_victim(std::shared_ptr<const Config> as,
                                    const std::function<Result<void>(Connection&)>& after_connect,
                                    const std::function<void(RawPeer& peer)>& after_preambles);
};

// expect_code asserts that the attack failed with |code|.
void expect_code(const Result<Connection>& r, ErrorCode code);

}  // namespace atls::test
