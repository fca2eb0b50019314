#pragma once

// SwtpmAttester: a private swtpm and the tpm2 attester on it, with the PEM of
// its attestation key for a policy to trust. Tests skip when swtpm is not
// installed (swtpm_available()).

#include <atls/atls.h>

#include "src/plugins/tpm2/tpm2.h"
#include "tools/swtpm_process.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

namespace atls::test {

struct SwtpmAttester {
  std::unique_ptr<tools::SwtpmProcess> tpm;
  std::shared_ptr<Attester> attester;
  std::string ak_pem;
};

inline bool swtpm_available() {
  return tools::SwtpmProcess::available();
}

// start_swtpm_attester starts swtpm and the attester (test failures and
// nullopt when either fails).
inline std::optional<SwtpmAttester> start_swtpm_attester() {
  auto tpm = tools::SwtpmProcess::start();
  EXPECT_TRUE(tpm) << tpm.error().to_string();
  if (!tpm) {
    return std::nullopt;
  }
  SwtpmAttester out;
  out.tpm = std::move(*tpm);
  Tpm2AttesterConfig tc;
  tc.tcti = out.tpm->tcti();
  auto attester = make_tpm2_attester(tc);
  EXPECT_TRUE(attester) << attester.error().to_string();
  if (!attester) {
    return std::nullopt;
  }
  out.ak_pem = tpm2_attester_ak_pem(**attester).value();
  out.attester = std::shared_ptr<Attester>(std::move(*attester));
  return out;
}

}  // namespace atls::test
