#pragma once

// Helpers shared by the subcommands.

#include <atls/bytes.h>
#include <atls/result.h>

#include <string>
#include <string_view>

namespace atls::tools {

// Largest file a command reads (evidence, keys, policies).
inline constexpr std::size_t kMaxInputFile = 16 * 1024 * 1024;

// read_input reads a whole file, or standard input for "-". Fails with
// FileNotFound, IoError or FileTooLarge.
Result<Bytes> read_input(const std::string& path);

// write_secret_file creates |path| with mode 0600 (never over an existing
// file) and writes |text| to it. Fails with IoError.
Result<void> write_secret_file(const std::string& path, std::string_view text);

// write_output writes |data| to |path| ("-" = standard output).
Result<void> write_output(const std::string& path, ByteView data);

// fail prints "atls <command>: <file>: <ErrorName>: <message>" on stderr and
// sets a non-zero exit code (2 for usage errors, 1 otherwise).
void fail(std::string_view command, const Error& e, std::string_view file = {});

}  // namespace atls::tools
