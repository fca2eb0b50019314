#pragma once

// The attacks of the security matrix against the two intra-handshake modes
// (docs/intra-handshake.md): early-attestation and RA-TLS certificates. The
// victim is a client that requires the server's attestation; each function
// returns the victim's handshake outcome.

#include <atls/config.h>
#include <atls/result.h>

namespace atls::test::intra {

// The genuine server, attesting through a relay that can ask the genuine
// attester for Evidence (CVE-2026-33697 class): succeeds by design.
Result<void> relay_with_the_genuine_attester(IntraHandshake mode);
// Evidence the genuine attester made for another connection.
Result<void> replay_evidence(IntraHandshake mode);
// RatlsCertificate: a whole certificate (and key) minted for another connection.
Result<void> replay_certificate();
// Evidence whose nonce names another key than the certificate's.
Result<void> substitute_key(IntraHandshake mode);
// The victim meets a server without this mode.
Result<void> downgrade(IntraHandshake mode);
Result<void> stale_evidence(IntraHandshake mode);
// The attester's measured state changes after the handshake: nothing
// re-attests, the connection stays attested (by design).
Result<void> posture_change(IntraHandshake mode);
// The victim pins another machine id.
Result<void> diversion(IntraHandshake mode);

}  // namespace atls::test::intra
