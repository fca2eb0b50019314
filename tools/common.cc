#include "tools/common.h"

#include "tools/commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace atls::tools {

Result<Bytes> read_input(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Error{errno == ENOENT ? ErrorCode::FileNotFound : ErrorCode::IoError,
                 path + ": " + std::strerror(errno)};
  }
  Bytes out;
  std::uint8_t buf[65536];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f);
    if (n == 0) {
      break;
    }
    if (out.size() + n > kMaxInputFile) {
      if (f != stdin) {
        std::fclose(f);
      }
      return Error{ErrorCode::FileTooLarge,
                   path + ": larger than " + std::to_string(kMaxInputFile) + " bytes"};
    }
    out.insert(out.end(), buf, buf + n);
  }
  const bool err = std::ferror(f) != 0;
  if (f != stdin) {
    std::fclose(f);
  }
  if (err) {
    return Error{ErrorCode::IoError, path + ": read error"};
  }
  return out;
}

Result<void> write_output(const std::string& path, ByteView data) {
  if (path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
    return ok();
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) {
    return Error{ErrorCode::IoError, path + ": cannot write"};
  }
  return ok();
}

Result<void> write_secret_file(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{ErrorCode::IoError,
                 path + ": cannot create (" + std::strerror(errno) + "; an existing file is kept)"};
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return Error{ErrorCode::IoError, path + ": cannot write"};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    ::unlink(path.c_str());
    return Error{ErrorCode::IoError, path + ": cannot write"};
  }
  return ok();
}

void fail(std::string_view command, const Error& e, std::string_view file) {
  std::string line = "atls " + std::string(command) + ": ";
  if (!file.empty()) {
    line += std::string(file) + ": ";
  }
  line += std::string(e.name()) + ": " + e.to_string();
  std::cerr << line << "\n";
  set_exit_code(e.category() == ErrorCategory::Usage && e.code != ErrorCode::UnknownFormat ? 2 : 1);
}

}  // namespace atls::tools
