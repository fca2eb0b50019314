#pragma once

// A fake configfs-tsm "kernel" on top of an ordinary temporary directory.
//
// FakeConfigfs derives from the real FilesystemTsmBackend, so every byte the
// TSM client writes or reads goes through the real POSIX code path; the
// overrides only add what configfs does by itself:
//  - mkdir of a report entry makes the attribute files appear (provider,
//    generation "0");
//  - each write to inblob or privlevel increments generation, and a write to
//    inblob makes outblob (and auxblob) appear, produced by |respond|;
//  - rmdir of an entry removes its attribute files first.
// Header-only so that any test can use it without a build change.

#include <atls/bytes.h>
#include <atls/result.h>

#include "src/plugins/tsm/tsm.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace atls::test {

// TempDir is a fresh directory under $TMPDIR (or /tmp), removed with its
// contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/atls-tsm-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) {
      m_path = tmpl;
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!m_path.empty()) {
      std::filesystem::remove_all(m_path, ec);
    }
  }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

class FakeConfigfs : public FilesystemTsmBackend {
 public:
  // What the provider returns for an inblob (outblob; nullopt = no outblob file).
  std::function<Bytes(ByteView inblob)> respond = [](ByteView) { return Bytes{}; };
  std::string provider = "sev_guest\n";
  // auxblob contents; nullopt = the provider has no auxblob attribute.
  std::optional<Bytes> auxblob;
  // Simulates another writer: bumps generation when outblob is read.
  bool concurrent_writer = false;

  // What the client did.
  std::vector<std::string> made;
  std::vector<std::string> removed;
  Bytes last_inblob;
  std::optional<std::string> last_privlevel;

  Result<void> make_dir(const std::string& path) override {
    ATLS_TRY(FilesystemTsmBackend::make_dir(path));
    made.push_back(path);
    ATLS_TRY(FilesystemTsmBackend::write_file(path + "/provider", as_bytes(provider)));
    return FilesystemTsmBackend::write_file(path + "/generation", as_bytes("0\n"));
  }

  Result<void> remove_dir(const std::string& path) override {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      std::filesystem::remove(e.path(), ec);
    }
    removed.push_back(path);
    return FilesystemTsmBackend::remove_dir(path);
  }

  Result<void> write_file(const std::string& path, ByteView data) override {
    ATLS_TRY(FilesystemTsmBackend::write_file(path, data));
    const std::string dir = parent(path);
    const std::string name = path.substr(dir.size() + 1);
    if (name == "privlevel") {
      last_privlevel = std::string(data.begin(), data.end());
      ATLS_TRY(bump(dir));
    } else if (name == "inblob") {
      last_inblob.assign(data.begin(), data.end());
      ATLS_TRY(bump(dir));
      ATLS_TRY(FilesystemTsmBackend::write_file(dir + "/outblob", respond(data)));
      if (auxblob) {
        ATLS_TRY(FilesystemTsmBackend::write_file(dir + "/auxblob", *auxblob));
      }
    }
    return ok();
  }

  Result<Bytes> read_file(const std::string& path, std::size_t max) override {
    auto r = FilesystemTsmBackend::read_file(path, max);
    const std::string dir = parent(path);
    if (concurrent_writer && path.substr(dir.size() + 1) == "outblob") {
      ATLS_TRY(bump(dir));
    }
    return r;
  }

 private:
  static Bytes as_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
  static std::string parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

  Result<void> bump(const std::string& dir) {
    ATLS_ASSIGN_OR_RETURN(const Bytes g, FilesystemTsmBackend::read_file(dir + "/generation", 64));
    const unsigned long long n = std::stoull(std::string(g.begin(), g.end()));
    return FilesystemTsmBackend::write_file(dir + "/generation",
                                            as_bytes(std::to_string(n + 1) + "\n"));
  }
};

}  // namespace atls::test
