#include "src/attestation/registry.h"

#include <algorithm>

namespace atls {

const Verifier* Registry::verifier_for(std::string_view media_type) const {
  for (auto it = m_verifiers.rbegin(); it != m_verifiers.rend(); ++it) {
    const auto types = (*it)->accepted_types();
    if (std::find(types.begin(), types.end(), media_type) != types.end()) {
      return it->get();
    }
  }
  return nullptr;
}

const Appraiser* Registry::appraiser_for(std::string_view media_type) const {
  for (auto it = m_appraisers.rbegin(); it != m_appraisers.rend(); ++it) {
    const auto types = (*it)->accepted_types();
    if (std::find(types.begin(), types.end(), media_type) != types.end()) {
      return it->get();
    }
  }
  return nullptr;
}

std::vector<std::string> Registry::media_types() const {
  std::vector<std::string> out;
  for (const auto& v : m_verifiers) {
    for (auto& t : v->accepted_types()) {
      if (std::find(out.begin(), out.end(), t) == out.end()) {
        out.push_back(std::move(t));
      }
    }
  }
  return out;
}

}  // namespace atls
