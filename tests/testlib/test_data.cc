#include "tests/testlib/test_data.h"

#include "src/core/encoding.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace atls::test {

std::string data_path(const std::string& rel) {
  return std::string(ATLS_TEST_DATA_DIR) + "/" + rel;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes read_data(const std::string& rel) {
  return read_file(data_path(rel));
}

std::string read_text(const std::string& rel) {
  const Bytes b = read_data(rel);
  return std::string(b.begin(), b.end());
}

Bytes hex(const std::string& h) {
  auto r = from_hex(h);
  if (!r) {
    ADD_FAILURE() << "bad hex literal: " << h;
    return {};
  }
  return *r;
}

}  // namespace atls::test
