#pragma once

// Conversion between Evidence and its CMW wire form.

#include <atls/evidence.h>
#include <atls/result.h>

#include <string>
#include <vector>

namespace atls {

// evidence_from_cmw parses a CMW (CBOR or JSON, record or collection) into
// Evidence. Tags and content-format records become records whose media type
// is "cf:<n>". Fails with the CMW parser's codes, or CmwMalformed when the
// CMW holds no record.
Result<Evidence> evidence_from_cmw(ByteView cmw);

// evidence_from_records builds Evidence with a CBOR CMW: one record, or a
// collection labelled by each record's label when there are several (the
// first record is the primary one). Fails with CmwMalformed on empty input.
Result<Evidence> evidence_from_records(std::vector<EvidenceRecord> records,
                                       const std::string& collection_type = {});

}  // namespace atls
