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

  void apply(Config::Builder& b) const {
    b.first_flight_attestation(!no_first_flight).exporter_label_policy(exporter_label);
  }
};

inline void add_protocol_options(CLI::App* cmd, ProtocolOptions* o) {
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
