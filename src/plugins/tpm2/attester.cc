// The tpm2 Attester: TPM2_Quote through tpm2-tss ESAPI with a persistent,
// restricted ECC P-256 attestation key (created on first use). It outlives
// its TPM connection: when the TPM cannot be reached (swtpm restarted, the
// resource manager gone), attestations fail with TpmUnavailable and a later
// one reconnects and finds the same persistent AK again.

#include "src/attestation/evidence_cmw.h"
#include "src/formats/tpm/evidence.h"
#include "src/formats/tpm/tpm.h"
#include "src/formats/tpm/verify.h"
#include "src/ossl/keys.h"
#include "src/plugins/tpm2/esys.h"
#include "src/plugins/tpm2/tpm2.h"

#include <tss2/tss2_mu.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace atls {
namespace {

using tpm2::EsysContextPtr;
using tpm2::EsysPtr;
using tpm2::TctiPtr;
using tpm2::tss_error;

// Nonces longer than this are refused outright (they are hashed anyway).
constexpr std::size_t kMaxNonce = 1024;
// PCR values may change between TPM2_PCR_Read and TPM2_Quote; retry a few
// times until the values read match the quoted pcrDigest.
constexpr int kQuoteAttempts = 3;

// hex_handle writes a TPM handle as 0x81010002.
std::string hex_handle(std::uint32_t handle) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(handle));
  return buf;
}

TPM2B_PUBLIC storage_primary_template() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                       TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                       TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.eccDetail.symmetric.keyBits.aes = 128;
  p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

TPM2B_PUBLIC ak_template() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// Creates the AK under a fresh owner-hierarchy storage primary and makes it
// persistent at |handle|. Returns the ESYS_TR of the persistent object.
Result<ESYS_TR> create_persistent_ak(ESYS_CONTEXT* ctx, std::uint32_t handle) {
  const TPM2B_SENSITIVE_CREATE no_sensitive{};
  const TPM2B_DATA no_outside{};
  const TPML_PCR_SELECTION no_pcrs{};
  const TPM2B_PUBLIC primary_tpl = storage_primary_template();
  ESYS_TR primary_raw = ESYS_TR_NONE;
  TSS2_RC rc = ::Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &no_sensitive, &primary_tpl, &no_outside,
                                    &no_pcrs, &primary_raw, nullptr, nullptr, nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_CreatePrimary", rc);
  }
  const tpm2::TransientHandle primary(ctx, primary_raw);

  const TPM2B_PUBLIC ak_tpl = ak_template();
  TPM2B_PRIVATE* priv_raw = nullptr;
  TPM2B_PUBLIC* pub_raw = nullptr;
  rc =
      ::Esys_Create(ctx, primary.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_sensitive,
                    &ak_tpl, &no_outside, &no_pcrs, &priv_raw, &pub_raw, nullptr, nullptr, nullptr);
  const EsysPtr<TPM2B_PRIVATE> priv(priv_raw);
  const EsysPtr<TPM2B_PUBLIC> pub(pub_raw);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_Create (AK)", rc);
  }
  ESYS_TR loaded_raw = ESYS_TR_NONE;
  rc = ::Esys_Load(ctx, primary.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv.get(),
                   pub.get(), &loaded_raw);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_Load (AK)", rc);
  }
  const tpm2::TransientHandle loaded(ctx, loaded_raw);
  ESYS_TR persistent = ESYS_TR_NONE;
  rc = ::Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, loaded.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, handle, &persistent);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_EvictControl", rc);
  }
  return persistent;
}

template <class T, class Fn>
Result<Bytes> marshal(const T& value, Fn fn) {
  Bytes buf(sizeof(T));
  std::size_t offset = 0;
  const TSS2_RC rc = fn(&value, buf.data(), buf.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Tss2_MU marshal", rc);
  }
  buf.resize(offset);
  return buf;
}

// TpmSession is one connection to the TPM: the TCTI, the ESYS context on it
// and the AK's ESYS_TR in that context. Member order matters: the ESYS
// context is finalized before its TCTI.
struct TpmSession {
  TctiPtr tcti;
  EsysContextPtr esys;
  ESYS_TR ak = ESYS_TR_NONE;
  Bytes ak_public;  // TPMT_PUBLIC of the AK
};

// open_session connects through |config.tcti| and loads the AK at
// |config.ak_handle|; with |create_ak| it creates and persists one when the
// handle is empty. Fails with TpmUnavailable when the TPM cannot be reached,
// AttesterFailure otherwise.
Result<TpmSession> open_session(const Tpm2AttesterConfig& config, bool create_ak) {
  TpmSession s;
  TSS2_TCTI_CONTEXT* tcti_raw = nullptr;
  TSS2_RC rc = ::Tss2_TctiLdr_Initialize(config.tcti.c_str(), &tcti_raw);
  s.tcti.reset(tcti_raw);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error(("Tss2_TctiLdr_Initialize(" + config.tcti + ")").c_str(), rc);
  }
  ESYS_CONTEXT* esys_raw = nullptr;
  rc = ::Esys_Initialize(&esys_raw, s.tcti.get(), nullptr);
  s.esys.reset(esys_raw);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_Initialize", rc);
  }

  // Is there an object at the handle? (TPM2_GetCapability(TPM_CAP_HANDLES)
  // lists persistent handles from the given one upwards.)
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* cap_raw = nullptr;
  rc = ::Esys_GetCapability(s.esys.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_HANDLES, config.ak_handle, 1, &more, &cap_raw);
  const EsysPtr<TPMS_CAPABILITY_DATA> cap(cap_raw);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_GetCapability(TPM_CAP_HANDLES)", rc);
  }
  const bool exists =
      cap->data.handles.count > 0 && cap->data.handles.handle[0] == config.ak_handle;
  if (exists) {
    rc = ::Esys_TR_FromTPMPublic(s.esys.get(), config.ak_handle, ESYS_TR_NONE, ESYS_TR_NONE,
                                 ESYS_TR_NONE, &s.ak);
    if (rc != TSS2_RC_SUCCESS) {
      return tss_error("Esys_TR_FromTPMPublic (AK)", rc);
    }
  } else if (create_ak) {
    // No object at the handle yet: create and persist the AK.
    ATLS_ASSIGN_OR_RETURN(s.ak, create_persistent_ak(s.esys.get(), config.ak_handle));
  } else {
    return Error{ErrorCode::AttesterFailure, "no AK at handle " + hex_handle(config.ak_handle) +
                                                 " any more (was the TPM cleared?)"};
  }
  TPM2B_PUBLIC* pub_raw = nullptr;
  rc = ::Esys_ReadPublic(s.esys.get(), s.ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub_raw,
                         nullptr, nullptr);
  const EsysPtr<TPM2B_PUBLIC> pub(pub_raw);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error("Esys_ReadPublic (AK)", rc);
  }
  ATLS_ASSIGN_OR_RETURN(s.ak_public, marshal(pub->publicArea, ::Tss2_MU_TPMT_PUBLIC_Marshal));
  ATLS_ASSIGN_OR_RETURN(const TpmPublic parsed, parse_tpm_public(s.ak_public));
  if (!parsed.is_restricted_signing_key()) {
    return Error{ErrorCode::AttesterFailure,
                 "the object at ak_handle is not a restricted signing key"};
  }
  return s;
}

// naming_tcti prefixes a TpmUnavailable error's detail with the TCTI (the
// operator needs to know which TPM is gone).
Error naming_tcti(Error e, const std::string& tcti) {
  if (e.code == ErrorCode::TpmUnavailable) {
    e.detail = "TCTI \"" + tcti + "\": " + e.detail;
  }
  return e;
}

class Tpm2Attester final : public Attester {
 public:
  Tpm2Attester(Tpm2AttesterConfig config, TpmSession session, TPML_PCR_SELECTION selection)
      : m_config(std::move(config)),
        m_ak_public(session.ak_public),
        m_selection(selection),
        m_session(std::move(session)) {}

  std::string_view name() const override { return "tpm2"; }
  std::string_view media_type() const override { return kMediaTypeTpmQuote; }

  Result<Evidence> attest(const AttestationRequest& request) override {
    if (request.nonce.size() > kMaxNonce) {
      return Error{ErrorCode::InvalidArgument, "nonce longer than 1024 bytes"};
    }
    ATLS_ASSIGN_OR_RETURN(const Bytes qualifying, tpm_qualifying_data(request.nonce));
    TPM2B_DATA data{};
    data.size = static_cast<UINT16>(qualifying.size());
    if (!qualifying.empty()) {  // memcpy from an empty vector's null data() is undefined
      std::memcpy(data.buffer, qualifying.data(), qualifying.size());
    }
    // A TPM without SHA-384 holds at most 32 bytes of qualifying data; for
    // such a TPM a longer nonce goes in hashed (the verifier accepts both).
    ATLS_ASSIGN_OR_RETURN(const Bytes hashed, tpm_hashed_qualifying_data(request.nonce));
    bool hashed_tried = request.nonce.size() <= kTpmMaxPortableNonce;

    // An ESYS context is not thread-safe: one attestation at a time.
    const std::lock_guard<std::mutex> lock(m_mutex);
    ATLS_TRY(ensure_session());
    for (int attempt = 0; attempt < kQuoteAttempts; ++attempt) {
      ATLS_ASSIGN_OR_RETURN(TpmPcrValues values, read_pcrs());
      TPMT_SIG_SCHEME scheme{};
      scheme.scheme = TPM2_ALG_NULL;  // the AK's own scheme (ECDSA-SHA256)
      TPM2B_ATTEST* quoted_raw = nullptr;
      TPMT_SIGNATURE* sig_raw = nullptr;
      const TSS2_RC rc =
          ::Esys_Quote(m_session->esys.get(), m_session->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                       ESYS_TR_NONE, &data, &scheme, &m_selection, &quoted_raw, &sig_raw);
      const EsysPtr<TPM2B_ATTEST> quoted(quoted_raw);
      const EsysPtr<TPMT_SIGNATURE> sig(sig_raw);
      if ((rc & (TPM2_RC_FMT1 | 0x3FU)) == TPM2_RC_SIZE && !hashed_tried) {
        hashed_tried = true;
        data.size = static_cast<UINT16>(hashed.size());
        std::memcpy(data.buffer, hashed.data(), hashed.size());
        --attempt;  // not a PCR race: quote again with the hashed nonce
        continue;
      }
      if (rc != TSS2_RC_SUCCESS) {
        return command_failed("Esys_Quote", rc);
      }
      Tpm2QuoteEvidence ev;
      ev.attest.assign(quoted->attestationData, quoted->attestationData + quoted->size);
      ATLS_ASSIGN_OR_RETURN(ev.signature, marshal(*sig, ::Tss2_MU_TPMT_SIGNATURE_Marshal));
      // Check our own output: the quoted digest must match the values read.
      ATLS_ASSIGN_OR_RETURN(const TpmAttest attest, parse_tpm_attest(ev.attest));
      ATLS_ASSIGN_OR_RETURN(const TpmSignature parsed_sig, parse_tpm_signature(ev.signature));
      if (!attest.quote) {
        return Error{ErrorCode::AttesterFailure, "TPM2_Quote did not return a quote"};
      }
      if (!check_tpm_quote_pcrs(*attest.quote, parsed_sig.hash, values)) {
        continue;  // a PCR was extended in between: read and quote again
      }
      ev.pcrs = std::move(values);
      ev.ak_pub = m_ak_public;
      EvidenceRecord rec;
      rec.media_type = std::string(kMediaTypeTpmQuote);
      rec.value = encode_tpm2_quote_evidence(ev);
      rec.ind = kIndEvidence;
      return evidence_from_records({std::move(rec)});
    }
    return Error{ErrorCode::AttesterFailure, "PCR values kept changing while quoting"};
  }

  // The AK never changes: a reconnect must find the same one.
  const Bytes& ak_public() const { return m_ak_public; }

 private:
  using Clock = std::chrono::steady_clock;

  // ensure_session reconnects after a lost connection to the TPM (swtpm
  // restarted, resource manager restarted), at most once per
  // reconnect_interval so that a dead TPM costs each attestation nothing but
  // this check. The AK found must be the one we started with: relying
  // parties pin it. Called with m_mutex held.
  Result<void> ensure_session() {
    if (m_session) {
      return ok();
    }
    const auto now = Clock::now();
    const auto wait = m_config.reconnect_interval - (now - m_last_connect);
    if (wait > Clock::duration::zero()) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      return Error{m_last_failure.code,
                   m_last_failure.detail + " (next reconnect in " + std::to_string(ms) + " ms)"};
    }
    m_last_connect = now;
    auto session = open_session(m_config, false);
    if (!session) {
      return failed(session.error());
    }
    if (session->ak_public != m_ak_public) {
      return failed(Error{ErrorCode::AttesterFailure,
                          "the AK at " + hex_handle(m_config.ak_handle) +
                              " is not the one this attester started with (was the TPM cleared?)"});
    }
    m_session = std::move(*session);
    return ok();
  }

  // command_failed turns a failed ESYS call into an error. When the failure
  // is not the TPM's own answer, the context cannot be trusted (ESAPI
  // refuses every later call with BAD_SEQUENCE after a TCTI failure), so it
  // is closed and a later attestation reconnects.
  Error command_failed(const char* call, TSS2_RC rc) {
    if (tpm2::is_tpm_response(rc)) {
      return tss_error(call, rc);
    }
    m_session.reset();
    m_last_connect = Clock::now();
    return failed(tss_error(call, rc));
  }

  // failed records why there is no connection (named in the errors until the
  // next reconnect) and returns that error, naming the TCTI when the TPM
  // cannot be reached.
  Error failed(Error e) {
    m_last_failure = naming_tcti(std::move(e), m_config.tcti);
    return m_last_failure;
  }

  // Reads every selected PCR; TPM2_PCR_Read returns at most 8 values per
  // call, so it is repeated with the PCRs already read cleared.
  Result<TpmPcrValues> read_pcrs() {
    TPML_PCR_SELECTION want = m_selection;
    TpmPcrValues out;
    auto remaining = [&want] {
      for (UINT32 i = 0; i < want.count; ++i) {
        for (UINT8 b = 0; b < want.pcrSelections[i].sizeofSelect; ++b) {
          if (want.pcrSelections[i].pcrSelect[b] != 0) {
            return true;
          }
        }
      }
      return false;
    };
    while (remaining()) {
      UINT32 counter = 0;
      TPML_PCR_SELECTION* sel_raw = nullptr;
      TPML_DIGEST* digests_raw = nullptr;
      const TSS2_RC rc = ::Esys_PCR_Read(m_session->esys.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &want, &counter, &sel_raw, &digests_raw);
      const EsysPtr<TPML_PCR_SELECTION> sel(sel_raw);
      const EsysPtr<TPML_DIGEST> digests(digests_raw);
      if (rc != TSS2_RC_SUCCESS) {
        return command_failed("Esys_PCR_Read", rc);
      }
      std::size_t k = 0;
      for (UINT32 i = 0; i < sel->count && i < TPM2_NUM_PCR_BANKS; ++i) {
        const TPMS_PCR_SELECTION& s = sel->pcrSelections[i];
        TpmPcrBank* bank = nullptr;
        for (auto& b : out.banks) {
          bank = b.hash == s.hash ? &b : bank;
        }
        if (bank == nullptr) {
          out.banks.push_back(TpmPcrBank{s.hash, {}});
          bank = &out.banks.back();
        }
        for (UINT32 index = 0; index < s.sizeofSelect * 8U && index < TPM2_PCR_SELECT_MAX * 8U;
             ++index) {
          if ((s.pcrSelect[index / 8] & (1U << (index % 8))) == 0) {
            continue;
          }
          if (k >= digests->count || k >= 8) {
            return Error{ErrorCode::AttesterFailure,
                         "TPM2_PCR_Read returned fewer digests than selected"};
          }
          const TPM2B_DIGEST& d = digests->digests[k++];
          bank->values[index] = Bytes(d.buffer, d.buffer + d.size);
          for (UINT32 w = 0; w < want.count; ++w) {
            if (want.pcrSelections[w].hash == s.hash) {
              want.pcrSelections[w].pcrSelect[index / 8] = static_cast<BYTE>(
                  want.pcrSelections[w].pcrSelect[index / 8] & ~(1U << (index % 8)));
            }
          }
        }
      }
      if (k == 0) {
        return Error{ErrorCode::AttesterFailure,
                     "TPM2_PCR_Read made no progress (PCR not implemented?)"};
      }
    }
    return out;
  }

  const Tpm2AttesterConfig m_config;
  const Bytes m_ak_public;
  TPML_PCR_SELECTION m_selection;
  std::mutex m_mutex;
  // Guarded by m_mutex: the connection (empty after a lost connection until
  // a reconnect succeeds), when the last one was tried or lost, and why.
  std::optional<TpmSession> m_session;
  Clock::time_point m_last_connect;
  Error m_last_failure{ErrorCode::Ok, ""};
};

}  // namespace

Result<std::unique_ptr<Attester>> make_tpm2_attester(const Tpm2AttesterConfig& config) {
  if (config.pcrs.empty()) {
    return Error{ErrorCode::InvalidArgument, "no PCRs to quote"};
  }
  TPML_PCR_SELECTION selection{};
  selection.count = 1;
  selection.pcrSelections[0].hash = TPM2_ALG_SHA256;
  selection.pcrSelections[0].sizeofSelect = 3;
  for (const std::uint32_t pcr : config.pcrs) {
    if (pcr >= 24) {
      return Error{ErrorCode::InvalidArgument, "PCR index " + std::to_string(pcr) + " above 23"};
    }
    selection.pcrSelections[0].pcrSelect[pcr / 8] =
        static_cast<BYTE>(selection.pcrSelections[0].pcrSelect[pcr / 8] | (1U << (pcr % 8)));
  }
  if ((config.ak_handle >> 24) != TPM2_HT_PERSISTENT) {
    return Error{ErrorCode::InvalidArgument, "ak_handle is not a persistent handle (0x81xxxxxx)"};
  }
  if (config.reconnect_interval < std::chrono::milliseconds(0)) {
    return Error{ErrorCode::InvalidArgument, "negative reconnect_interval"};
  }
  auto session = open_session(config, true);
  if (!session) {
    return naming_tcti(session.error(), config.tcti);
  }
  return std::unique_ptr<Attester>(
      std::make_unique<Tpm2Attester>(config, std::move(*session), selection));
}

Result<Bytes> tpm2_attester_ak_public(const Attester& attester) {
  const auto* t = dynamic_cast<const Tpm2Attester*>(&attester);
  if (t == nullptr) {
    return Error{ErrorCode::InvalidArgument, "not a tpm2 attester"};
  }
  return t->ak_public();
}

Result<std::string> tpm2_attester_ak_pem(const Attester& attester) {
  ATLS_ASSIGN_OR_RETURN(const Bytes raw, tpm2_attester_ak_public(attester));
  ATLS_ASSIGN_OR_RETURN(const TpmPublic pub, parse_tpm_public(raw));
  ATLS_ASSIGN_OR_RETURN(const auto key, tpm_public_key(pub));
  return ossl::public_key_pem(key.get());
}

}  // namespace atls
