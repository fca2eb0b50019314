#include "src/attestation/evidence_cmw.h"

#include "src/formats/cmw/cmw.h"

#include <utility>

namespace atls {

std::string_view Evidence::media_type() const {
  return records.empty() ? std::string_view() : std::string_view(records.front().media_type);
}

const EvidenceRecord* Evidence::find(std::string_view type) const {
  for (const auto& r : records) {
    if (r.media_type == type) {
      return &r;
    }
  }
  return nullptr;
}

const EvidenceRecord* Evidence::find_label(std::string_view label) const {
  for (const auto& r : records) {
    if (r.label == label) {
      return &r;
    }
  }
  return nullptr;
}

namespace {

std::string label_text(const CmwLabel& l) {
  return std::holds_alternative<std::string>(l) ? std::get<std::string>(l)
                                                : std::to_string(std::get<std::int64_t>(l));
}

// flatten moves the records' values out of |c| (parsed for this call only):
// a quote or certificate is not copied once more.
void flatten(Cmw& c, const std::string& prefix, std::vector<EvidenceRecord>& out) {
  if (c.is_collection()) {
    for (auto& [label, item] : c.collection.entries) {
      const std::string l = label_text(label);
      flatten(item, prefix.empty() ? l : prefix + "/" + l, out);
    }
    return;
  }
  EvidenceRecord r;
  r.label = prefix;
  r.media_type = c.record.content_format ? "cf:" + std::to_string(*c.record.content_format)
                                         : std::move(c.record.media_type);
  r.value = std::move(c.record.value);
  r.ind = c.record.ind.value_or(0);
  out.push_back(std::move(r));
}

}  // namespace

Result<Evidence> evidence_from_cmw(ByteView cmw) {
  ATLS_ASSIGN_OR_RETURN(Cmw parsed, parse_cmw(cmw));
  Evidence e;
  e.cmw.assign(cmw.begin(), cmw.end());
  flatten(parsed, "", e.records);
  if (e.records.empty()) {
    return Error{ErrorCode::CmwMalformed, "CMW holds no record"};
  }
  return e;
}

Result<Evidence> evidence_from_records(std::vector<EvidenceRecord> records,
                                       const std::string& collection_type) {
  if (records.empty()) {
    return Error{ErrorCode::CmwMalformed, "no evidence record"};
  }
  Cmw cmw;
  auto as_cmw = [](const EvidenceRecord& r) {
    return Cmw::make_record(r.media_type, r.value,
                            r.ind != 0 ? std::optional<std::uint32_t>(r.ind) : std::nullopt);
  };
  if (records.size() == 1) {
    cmw = as_cmw(records.front());
    records.front().label.clear();
  } else {
    cmw = Cmw::make_collection(
        Cmw::Format::Cbor,
        collection_type.empty() ? std::nullopt : std::optional<std::string>(collection_type));
    for (const auto& r : records) {
      cmw.add(r.label, as_cmw(r));
    }
  }
  Evidence e;
  ATLS_ASSIGN_OR_RETURN(e.cmw, encode_cmw_cbor(cmw));
  e.records = std::move(records);
  return e;
}

}  // namespace atls
