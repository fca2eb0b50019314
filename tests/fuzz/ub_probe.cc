// Guard for the fuzz build's sanitizer flags, not a fuzz target: every input
// overflows a signed int. With -fno-sanitize-recover the run halts with a
// non-zero status; without it UBSan prints a report and the run carries on,
// which is what check_ub_fatal.cmake refuses (fuzz.ub_is_fatal).

#include <climits>
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)data;
  volatile int top = INT_MAX;
  const int sum = top + static_cast<int>(size % 2) + 1;
  return sum == 0 ? 1 : 0;
}
