#include "src/ossl/sign_template.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <array>
#include <mutex>

namespace atls::ossl {
namespace {

struct SignTemplates {
  UniquePtr<EVP_PKEY> key;  // a copy of the owner, referenced by the contexts
  std::array<UniquePtr<EVP_MD_CTX>, kSignTemplateSlots> ctx;
};

// Guards every ex_data access of this index and the templates themselves
// (a copy takes a microsecond; keys that sign concurrently are rare).
std::mutex g_mu;

// The owner was freed: so are its templates (and their copy of the key).
void free_templates(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                    void* /*argp*/) {  // NOLINT(runtime/int)
  delete static_cast<SignTemplates*>(ptr);
}

// EVP_PKEY_dup copies ex_data pointers: the copy must not share (and later
// free) the original's templates.
int dup_templates(CRYPTO_EX_DATA* /*to*/, const CRYPTO_EX_DATA* /*from*/, void** from_d,
                  int /*idx*/, long /*argl*/, void* /*argp*/) {  // NOLINT(runtime/int)
  *static_cast<void**>(from_d) = nullptr;
  return 1;
}

int ex_index() {
  static const int kIndex = ::CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EVP_PKEY, 0, nullptr, nullptr,
                                                      dup_templates, free_templates);
  return kIndex;
}

}  // namespace

UniquePtr<EVP_MD_CTX> prepared_sign_ctx(EVP_PKEY* key, const EVP_MD* md, std::size_t slot) {
  const int idx = ex_index();
  if (key == nullptr || md == nullptr || slot >= kSignTemplateSlots || idx < 0 ||
      ::EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return nullptr;
  }
  const std::lock_guard<std::mutex> lock(g_mu);
  auto* t = static_cast<SignTemplates*>(::EVP_PKEY_get_ex_data(key, idx));
  if (t == nullptr) {
    UniquePtr<EVP_PKEY> copy(::EVP_PKEY_dup(key));
    if (!copy) {
      ::ERR_clear_error();
      return nullptr;
    }
    auto fresh = std::make_unique<SignTemplates>();
    fresh->key = std::move(copy);
    if (::EVP_PKEY_set_ex_data(key, idx, fresh.get()) != 1) {
      ::ERR_clear_error();
      return nullptr;
    }
    t = fresh.release();  // owned by |key| (free_templates)
  }
  UniquePtr<EVP_MD_CTX>& tmpl = t->ctx[slot];
  if (!tmpl) {
    UniquePtr<EVP_MD_CTX> ctx(::EVP_MD_CTX_new());
    if (!ctx || ::EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, t->key.get()) != 1) {
      ::ERR_clear_error();
      return nullptr;
    }
    ::EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
    tmpl = std::move(ctx);
  }
  UniquePtr<EVP_MD_CTX> out(::EVP_MD_CTX_new());
  if (!out || ::EVP_MD_CTX_copy_ex(out.get(), tmpl.get()) != 1) {
    ::ERR_clear_error();
    return nullptr;
  }
  return out;
}

}  // namespace atls::ossl
