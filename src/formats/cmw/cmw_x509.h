#pragma once

// The CMW X.509 extension id-pe-cmw (draft-ietf-rats-msg-wrap, "Transporting
// CMW in X.509 Messages"): extnValue is the DER of
//   CMW ::= CHOICE { json UTF8String, cbor OCTET STRING }

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/formats/cmw/cmw.h"

#include <openssl/x509.h>

#include <string_view>

namespace atls {

// kOidPeCmw is id-pe-cmw, { id-pe 35 }.
inline constexpr std::string_view kOidPeCmw = "1.3.6.1.5.5.7.1.35";

// cmw_from_extension_value decodes the DER CHOICE held in the extension's
// extnValue and parses the CMW inside (JSON for UTF8String, CBOR for OCTET
// STRING). Fails with CmwMalformed for bad DER (wrong tag, non-minimal or
// indefinite length, trailing bytes, invalid UTF-8), or as parse_cmw_json /
// parse_cmw_cbor.
Result<Cmw> cmw_from_extension_value(ByteView der, const CmwLimits& limits = {});

// cmw_from_certificate finds the id-pe-cmw extension of |cert| (borrowed)
// and parses it. Fails with CertNoCmwExtension if it is absent,
// CertMalformed if it appears twice, or as cmw_from_extension_value.
Result<Cmw> cmw_from_certificate(const X509* cert, const CmwLimits& limits = {});

// cmw_extension_value returns the DER CHOICE for |cmw|, for building a
// certificate or CSR: a UTF8String of the JSON serialisation when
// cmw.format is Json, else an OCTET STRING of the CBOR serialisation. Fails
// like encode_cmw_json / encode_cmw_cbor.
Result<Bytes> cmw_extension_value(const Cmw& cmw);

}  // namespace atls
