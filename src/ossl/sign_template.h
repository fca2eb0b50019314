#pragma once

// Prepared ECDSA signing contexts, kept with the key (src/ossl internal).
//
// EVP_DigestSignInit looks up the signature implementation, hands the key
// to the provider and fetches the digest by name on every call: about as
// much CPU as a fifth of the P-256 signature itself. A key that signs once
// per connection (the TLS identity, an attester's key) pays that once: the
// first signature prepares a context, later ones copy it.

#include "src/ossl/ossl.h"

#include <cstddef>

namespace atls::ossl {

// How many digests a key keeps a context for (slot < kSignTemplateSlots).
inline constexpr std::size_t kSignTemplateSlots = 3;

// prepared_sign_ctx returns a context ready for EVP_DigestSign with |key|
// (an EC key) and |md|, with EVP_MD_CTX_FLAG_FINALISE set; |slot| names
// |md| among the key's contexts. The template lives in the key's ex_data,
// built from a copy of the key (a context holds a reference to its key:
// built from |key| itself, the key could never be freed), and is freed with
// |key|. Returns nullptr when no template can be made (the caller then
// initialises a context itself).
UniquePtr<EVP_MD_CTX> prepared_sign_ctx(EVP_PKEY* key, const EVP_MD* md, std::size_t slot);

}  // namespace atls::ossl
