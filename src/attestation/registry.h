#pragma once

// Registry of verifier and appraiser plug-ins, keyed by media type. Owned by
// a configuration object; there is no global registry. The built-in
// plug-ins' registry is builtin_registry() (src/plugins/builtin_plugins.h).

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

  // add_* share ownership of a plug-in. A later plug-in for the same media
  // type wins (so a user's plug-in, added after the built-in ones, replaces
  // the built-in one).
  void add_verifier(std::shared_ptr<const Verifier> v) { m_verifiers.push_back(std::move(v)); }
  void add_appraiser(std::shared_ptr<const Appraiser> a) { m_appraisers.push_back(std::move(a)); }

  // verifier_for / appraiser_for return the plug-in for |media_type|, or
  // nullptr.
  const Verifier* verifier_for(std::string_view media_type) const;
  const Appraiser* appraiser_for(std::string_view media_type) const;

  // media_types lists every media type with a verifier.
  std::vector<std::string> media_types() const;

 private:
  std::vector<std::shared_ptr<const Verifier>> m_verifiers;
  std::vector<std::shared_ptr<const Appraiser>> m_appraisers;
};

}  // namespace atls
