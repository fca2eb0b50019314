#pragma once

// Linux configfs-tsm report interface (Documentation/ABI/testing/configfs-tsm):
// the attesters of the sev-snp and tdx plug-ins write the nonce to
// <root>/<entry>/inblob and read <root>/<entry>/outblob (and auxblob).
//
// All file-system access goes through a TsmBackend. The default backend makes
// plain POSIX calls; tests derive from FilesystemTsmBackend to emulate what the
// kernel does on top of an ordinary directory (attribute files appear on mkdir,
// outblob appears once inblob is written, rmdir removes the attributes), so the
// client code path that runs against real configfs is the one under test.

#include <atls/bytes.h>
#include <atls/result.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace atls {

// TsmBackend performs the four file-system operations the client needs.
// Paths are absolute or relative to the working directory. Implementations
// must not throw.
class TsmBackend {
 public:
  virtual ~TsmBackend() = default;
  // make_dir creates directory |path|. Fails with FileNotFound when the
  // parent does not exist, IoError otherwise (including when |path| exists).
  virtual Result<void> make_dir(const std::string& path) = 0;
  // remove_dir removes directory |path|. Fails with IoError.
  virtual Result<void> remove_dir(const std::string& path) = 0;
  // write_file writes |data| to the existing or new file |path| in one write
  // and closes it (configfs reports a rejected binary attribute on close).
  // Fails with FileNotFound or IoError.
  virtual Result<void> write_file(const std::string& path, ByteView data) = 0;
  // read_file reads all of |path|. Fails with FileNotFound, FileTooLarge
  // (more than |max| bytes) or IoError.
  virtual Result<Bytes> read_file(const std::string& path, std::size_t max) = 0;
};

// FilesystemTsmBackend is the real backend: mkdir(2), rmdir(2), open/write/
// read/close(2). Stateless and thread-safe.
class FilesystemTsmBackend : public TsmBackend {
 public:
  Result<void> make_dir(const std::string& path) override;
  Result<void> remove_dir(const std::string& path) override;
  Result<void> write_file(const std::string& path, ByteView data) override;
  Result<Bytes> read_file(const std::string& path, std::size_t max) override;
};

// kTsmInblobSize is the size of inblob the attesters write (TSM_INBLOB_MAX).
inline constexpr std::size_t kTsmInblobSize = 64;
// kTsmMaxBlob bounds every blob read (outblob is at most TSM_OUTBLOB_MAX =
// 32 KiB in the kernel; auxblob certificate tables are a few KiB).
inline constexpr std::size_t kTsmMaxBlob = 1024 * 1024;

struct TsmConfig {
  // The configfs-tsm report directory; tests point this at a fake tree.
  std::string root = "/sys/kernel/config/tsm/report";
  // Requested privilege level (SEV-SNP VMPL, 0..3); -1 = leave the default.
  int privlevel = -1;
  // The file-system backend (borrowed; must outlive the calls). nullptr: the
  // real file system (a process-wide stateless FilesystemTsmBackend).
  TsmBackend* backend = nullptr;
};

struct TsmReport {
  std::string provider;  // "sev_guest", "tdx_guest", ... (trailing newline removed)
  Bytes outblob;         // the report / quote
  Bytes auxblob;         // certificates (SEV-SNP: GUID table with the VCEK), may be empty
  std::uint64_t generation = 0;
};

// tsm_get_report creates a report entry, writes |inblob| (exactly 64 bytes;
// and privlevel when configured), reads the result and removes the entry
// (also on failure). Fails with InvalidArgument (inblob not 64 bytes,
// privlevel outside 0..3), IoError or FileNotFound (no configfs-tsm at
// config.root, or a file operation failed), or AttesterFailure (generation
// changed during the read: a concurrent writer; or an empty outblob).
Result<TsmReport> tsm_get_report(const TsmConfig& config, ByteView inblob);

}  // namespace atls
