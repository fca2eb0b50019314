#pragma once

// Registry of attester, verifier and appraiser plug-ins, keyed by name and
// media type. Owned by a configuration object; there is no global registry.

#include <atls/attester.h>
#include <atls/verifier.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace atls {

class Registry {
 public:
  Registry() = default;
  Registry(Registry&&) = default;
  Registry& operator=(Registry&&) = default;

  // add_* take ownership. A later plug-in for the same media type wins.
  void add_verifier(std::unique_ptr<Verifier> v) { m_verifiers.push_back(std::move(v)); }
  void add_appraiser(std::unique_ptr<Appraiser> a) { m_appraisers.push_back(std::move(a)); }

  // verifier_for / appraiser_for return the plug-in for |media_type|, or
  // nullptr.
  const Verifier* verifier_for(std::string_view media_type) const;
  const Appraiser* appraiser_for(std::string_view media_type) const;

  // media_types lists every media type with a verifier.
  std::vector<std::string> media_types() const;

 private:
  std::vector<std::unique_ptr<Verifier>> m_verifiers;
  std::vector<std::unique_ptr<Appraiser>> m_appraisers;
};

// builtin_registry returns a registry with every built-in verifier and
// appraiser (software EAT, TPM 2.0 quote, SEV-SNP, TDX, EAR).
Registry builtin_registry();

}  // namespace atls
