// Key material is overwritten before its memory is released
// (docs/threat-model.md, finding 7): SecretBytes and cleanse.

#include "src/ossl/secret.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory_resource>
#include <string>

namespace atls::ossl {
namespace {

constexpr std::uint8_t kMark = 0xA5;

// An arena the test owns: what a SecretBytes leaves in it stays readable
// after the SecretBytes is gone.
struct Arena {
  std::array<std::uint8_t, 4096> bytes{};
  std::pmr::monotonic_buffer_resource resource{bytes.data(), bytes.size(),
                                               std::pmr::null_memory_resource()};
  std::size_t marks() const {
    return static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), kMark));
  }
};

TEST(SecretBytes, DestructionOverwritesTheBytes) {
  Arena arena;
  {
    const Bytes key(48, kMark);
    SecretBytes secret(key, &arena.resource);
    EXPECT_EQ(arena.marks(), 48u);
    EXPECT_EQ(Bytes(secret.view().begin(), secret.view().end()), key);
  }
  EXPECT_EQ(arena.marks(), 0u) << "key bytes left in freed memory";
}

TEST(SecretBytes, AssignmentOverwritesTheOldBytes) {
  Arena arena;
  SecretBytes secret(Bytes(32, kMark), &arena.resource);
  secret = SecretBytes(Bytes(32, 0x01));
  EXPECT_EQ(arena.marks(), 0u);
  EXPECT_EQ(secret.size(), 32u);
}

TEST(SecretBytes, WipeEmpties) {
  Arena arena;
  SecretBytes secret(Bytes(16, kMark), &arena.resource);
  secret.wipe();
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(arena.marks(), 0u);
}

TEST(Cleanse, OverwritesAString) {
  std::string pem(200, static_cast<char>(kMark));
  const char* storage = pem.data();  // stays valid: cleanse keeps the capacity
  cleanse(pem);
  EXPECT_TRUE(pem.empty());
  EXPECT_EQ(std::count(storage, storage + 200, static_cast<char>(kMark)), 0);
}

TEST(Cleanse, OverwritesBytes) {
  Bytes key(64, kMark);
  const std::uint8_t* storage = key.data();
  cleanse(key);
  EXPECT_TRUE(key.empty());
  EXPECT_EQ(std::count(storage, storage + 64, kMark), 0);
}

}  // namespace
}  // namespace atls::ossl
