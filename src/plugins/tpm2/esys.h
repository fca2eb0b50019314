#pragma once

// Ownership of tpm2-tss (ESAPI) allocations: every output that ESAPI
// allocates is wrapped at once in EsysPtr (released with Esys_Free), the
// ESYS context and the TCTI context in their own owners. Internal to the
// tpm2 plug-in.

#include <atls/result.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <memory>
#include <string>

namespace atls::tpm2 {

struct EsysFreeDeleter {
  void operator()(void* p) const noexcept { ::Esys_Free(p); }
};

// EsysPtr owns one ESAPI output structure.
template <class T>
using EsysPtr = std::unique_ptr<T, EsysFreeDeleter>;

struct TctiDeleter {
  void operator()(TSS2_TCTI_CONTEXT* p) const noexcept { ::Tss2_TctiLdr_Finalize(&p); }
};
using TctiPtr = std::unique_ptr<TSS2_TCTI_CONTEXT, TctiDeleter>;

struct EsysContextDeleter {
  void operator()(ESYS_CONTEXT* p) const noexcept { ::Esys_Finalize(&p); }
};
using EsysContextPtr = std::unique_ptr<ESYS_CONTEXT, EsysContextDeleter>;

// is_tpm_response reports whether |rc| is the TPM's own response code: the
// command reached the TPM and an answer came back, so the connection works.
// Any other layer (TCTI, ESAPI, SAPI) failed between us and the TPM.
inline bool is_tpm_response(TSS2_RC rc) {
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  return layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER;
}

// is_link_failure reports whether |rc| says the TPM could not be reached:
// the TCTI could not connect, send or receive (swtpm killed, resource
// manager gone, device closed). These are the base codes every TSS layer
// uses for that (TSS2_TCTI_RC_IO_ERROR is what a dead swtpm gives).
inline bool is_link_failure(TSS2_RC rc) {
  if (is_tpm_response(rc)) {
    return false;
  }
  const TSS2_RC base = rc & ~TSS2_RC_LAYER_MASK;
  return base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
         base == TSS2_BASE_RC_TRY_AGAIN;
}

// tss_error builds an error naming the call and decoding |rc|: TpmUnavailable
// for a link failure, AttesterFailure otherwise.
inline Error tss_error(const char* call, TSS2_RC rc) {
  return Error{is_link_failure(rc) ? ErrorCode::TpmUnavailable : ErrorCode::AttesterFailure,
               std::string(call) + ": " + ::Tss2_RC_Decode(rc)};
}

// TransientHandle flushes a transient ESYS object when it goes out of scope.
class TransientHandle {
 public:
  TransientHandle(ESYS_CONTEXT* ctx, ESYS_TR handle) : m_ctx(ctx), m_handle(handle) {}
  TransientHandle(const TransientHandle&) = delete;
  TransientHandle& operator=(const TransientHandle&) = delete;
  ~TransientHandle() {
    if (m_handle != ESYS_TR_NONE) {
      (void)::Esys_FlushContext(m_ctx, m_handle);
    }
  }
  ESYS_TR get() const { return m_handle; }

 private:
  ESYS_CONTEXT* m_ctx;
  ESYS_TR m_handle;
};

}  // namespace atls::tpm2
