#include "src/plugins/tsm/tsm.h"

#include <atls/clock.h>

#include "src/core/encoding.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace atls {
namespace {

Error errno_error(const char* what, const std::string& path, int err) {
  const ErrorCode code = err == ENOENT ? ErrorCode::FileNotFound : ErrorCode::IoError;
  return Error{code, std::string(what) + " " + path + ": " + std::strerror(err)};
}

// Fd closes a descriptor on scope exit unless close() was called explicitly.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }
  // close returns 0 or the errno of close(2).
  int close() {
    const int fd = m_fd;
    m_fd = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int m_fd;
};

// Removes the report entry when the request ends, whatever the outcome.
class EntryGuard {
 public:
  EntryGuard(TsmBackend& backend, std::string path) : m_backend(backend), m_path(std::move(path)) {}
  EntryGuard(const EntryGuard&) = delete;
  EntryGuard& operator=(const EntryGuard&) = delete;
  ~EntryGuard() {
    // Nothing useful can be done if rmdir fails: the entry only holds our
    // own (public) report, and configfs frees it when the directory goes.
    (void)m_backend.remove_dir(m_path);
  }

 private:
  TsmBackend& m_backend;
  std::string m_path;
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

Result<std::uint64_t> read_generation(TsmBackend& backend, const std::string& dir) {
  ATLS_ASSIGN_OR_RETURN(const Bytes raw, backend.read_file(dir + "/generation", 64));
  const std::string text = trim(as_string_view(raw));
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || p != end) {
    return Error{ErrorCode::AttesterFailure,
                 "configfs-tsm generation is not a number: \"" + text + "\""};
  }
  return value;
}

// A name no other requester uses: pid, a per-process counter and 64 random
// bits (so a stale entry left by a crashed process with the same pid cannot
// collide).
std::string entry_name() {
  static std::atomic<std::uint64_t> counter{0};
  std::array<std::uint8_t, 8> rnd{};
  SystemRng().fill(rnd);
  return "atls-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
         to_hex(rnd);
}

}  // namespace

Result<void> FilesystemTsmBackend::make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0) {
    return errno_error("mkdir", path, errno);
  }
  return ok();
}

Result<void> FilesystemTsmBackend::remove_dir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) {
    return errno_error("rmdir", path, errno);
  }
  return ok();
}

Result<void> FilesystemTsmBackend::write_file(const std::string& path, ByteView data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return errno_error("open", path, errno);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno_error("write", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  // configfs hands a binary attribute to the provider on release, so a
  // rejected inblob shows up as a close() error.
  if (const int err = fd.close(); err != 0) {
    return errno_error("close", path, err);
  }
  return ok();
}

Result<Bytes> FilesystemTsmBackend::read_file(const std::string& path, std::size_t max) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return errno_error("open", path, errno);
  }
  Bytes out;
  std::array<std::uint8_t, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno_error("read", path, errno);
    }
    if (n == 0) {
      break;
    }
    if (out.size() + static_cast<std::size_t>(n) > max) {
      return Error{ErrorCode::FileTooLarge,
                   path + " is larger than " + std::to_string(max) + " bytes"};
    }
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  return out;
}

Result<TsmReport> tsm_get_report(const TsmConfig& config, ByteView inblob) {
  static FilesystemTsmBackend g_filesystem;  // stateless
  TsmBackend& backend = config.backend != nullptr ? *config.backend : g_filesystem;

  //= https://github.com/torvalds/linux/blob/master/Documentation/ABI/testing/configfs-tsm
  //# (WO) Up to 64 bytes of user specified binary data.
  // The attesters always fill all 64 bytes (REPORT_DATA / REPORTDATA size).
  if (inblob.size() != kTsmInblobSize) {
    return Error{ErrorCode::InvalidArgument, "configfs-tsm inblob must be 64 bytes"};
  }
  //# the maximum acceptable value is TSM_PRIVLEVEL_MAX (3).
  if (config.privlevel < -1 || config.privlevel > 3) {
    return Error{ErrorCode::InvalidArgument, "configfs-tsm privlevel must be 0..3"};
  }

  const std::string dir = config.root + "/" + entry_name();
  if (auto made = backend.make_dir(dir); !made) {
    Error e = std::move(made).error();
    e.detail = "configfs-tsm report directory unusable (" + config.root + "): " + e.detail;
    return e;
  }
  EntryGuard guard(backend, dir);

  //# (RO) The value in this attribute increments each time @inblob or
  //# any option is written. Userspace can detect conflicts by
  //# checking generation before writing to any attribute and making
  //# sure the number of writes matches expectations after reading
  //# @outblob
  ATLS_ASSIGN_OR_RETURN(const std::uint64_t before, read_generation(backend, dir));
  std::uint64_t writes = 0;
  if (config.privlevel >= 0) {
    const std::string level = std::to_string(config.privlevel) + "\n";
    ATLS_TRY(backend.write_file(dir + "/privlevel", to_bytes(level)));
    ++writes;
  }
  ATLS_TRY(backend.write_file(dir + "/inblob", inblob));
  ++writes;

  TsmReport report;
  ATLS_ASSIGN_OR_RETURN(report.outblob, backend.read_file(dir + "/outblob", kTsmMaxBlob));
  if (report.outblob.empty()) {
    return Error{ErrorCode::AttesterFailure, "configfs-tsm returned an empty outblob"};
  }
  //# (RO) Optional supplemental data that a TSM may emit, visibility
  //# of this attribute depends on TSM, and may be empty
  auto aux = backend.read_file(dir + "/auxblob", kTsmMaxBlob);
  if (aux) {
    report.auxblob = std::move(*aux);
  } else if (aux.error().code != ErrorCode::FileNotFound) {
    return std::move(aux).error();
  }
  ATLS_ASSIGN_OR_RETURN(const Bytes provider, backend.read_file(dir + "/provider", 256));
  report.provider = trim(as_string_view(provider));

  ATLS_ASSIGN_OR_RETURN(report.generation, read_generation(backend, dir));
  if (report.generation != before + writes) {
    return Error{ErrorCode::AttesterFailure,
                 "configfs-tsm generation went from " + std::to_string(before) + " to " +
                     std::to_string(report.generation) + " over " + std::to_string(writes) +
                     " write(s): another writer used the report entry"};
  }
  return report;
}

}  // namespace atls
