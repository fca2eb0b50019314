#pragma once

// Test helpers: locating and reading test data.

#include <atls/bytes.h>

#include <string>

namespace atls::test {

// data_path returns tests/data/<rel>.
std::string data_path(const std::string& rel);

// read_file returns a file's bytes; the test fails (ADD_FAILURE) and an
// empty vector is returned if the file cannot be read.
Bytes read_file(const std::string& path);

// read_data returns the bytes of tests/data/<rel>.
Bytes read_data(const std::string& rel);

// read_text returns tests/data/<rel> as a string.
std::string read_text(const std::string& rel);

// hex decodes a hex literal, failing the test on bad input.
Bytes hex(const std::string& h);

}  // namespace atls::test
