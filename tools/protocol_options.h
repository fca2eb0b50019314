#pragma once

// The protocol options shared by `atls serve` and `atls connect`: first-flight
// attestation and the binder's exporter label (docs/protocol-choices.md).

#include <atls/config.h>

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace atls::tools {

struct ProtocolOptions {
  bool no_first_flight = false;
  ExporterLabelPolicy exporter_label = ExporterLabelPolicy::Negotiate;
  // "post-handshake", "early-attestation" or "ratls-certificate" (checked by add_protocol_options;
  // kept as text: CLI11 maps a uint8_t enum through its character form).
  std::string mode = "post-handshake";

  void apply(Config::Builder& b) const {
    b.first_flight_attestation(!no_first_flight)
        .exporter_label_policy(exporter_label)
        .intra_handshake(mode == "early-attestation"   ? IntraHandshake::EarlyAttestation
                         : mode == "ratls-certificate" ? IntraHandshake::RatlsCertificate
                                                       : IntraHandshake::Off);
  }
};

// kModeHelp is the --mode help: what the early-attestation mode cannot
// defend against, and when it is still the right choice (docs/intra-handshake.md).
inline constexpr const char* kModeHelp =
    "Where attestation happens. post-handshake (default): exported authenticators after the "
    "handshake (docs/wire-profile.md §1). early-attestation: Evidence inside the TLS handshake "
    "(draft-fossati-seat-early-attestation), zero extra round trips, no re-attestation; both "
    "peers must use it. ratls-certificate: the server mints a certificate per connection whose "
    "id-pe-cmw extension holds Evidence bound to its key and the ClientHello random (RA-TLS "
    "style; server attestation only). WARNING: both bind Evidence to the handshake "
    "and the certificate key only, so a TLS-terminating relay that controls a genuine "
    "attester's key can forward that attester's Evidence undetected (CVE-2026-33697 and later "
    "attacks on certificate/handshake-bound designs). Use it only where the operator controls "
    "every middlebox, where no extra round trip is affordable, or with peers that speak only "
    "that draft or RA-TLS (docs/intra-handshake.md)";

inline void add_protocol_options(CLI::App* cmd, ProtocolOptions* o) {
  cmd->add_option("--mode", o->mode, kModeHelp)
      ->check(CLI::IsMember({"post-handshake", "early-attestation", "ratls-certificate"}))
      ->default_str("post-handshake");
  cmd->add_flag("--no-first-flight", o->no_first_flight,
                "Attest only on request: no pushed server authenticator, no request in the "
                "server's first flight (docs/wire-profile.md §1.9)");
  const std::map<std::string, ExporterLabelPolicy> labels{
      {"negotiate", ExporterLabelPolicy::Negotiate},
      {"attestation", ExporterLabelPolicy::Attestation},
      {"cmw-attestation", ExporterLabelPolicy::CmwAttestation}};
  cmd->add_option("--exporter-label", o->exporter_label,
                  "Binder label: negotiate (EXPORTER-cmw-attestation when the peer agrees, else "
                  "Attestation), attestation, or cmw-attestation (docs/protocol-choices.md)")
      ->transform(CLI::CheckedTransformer(labels, CLI::ignore_case))
      ->default_str("negotiate");
}

}  // namespace atls::tools
