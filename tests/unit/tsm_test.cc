#include "src/plugins/tsm/tsm.h"

#include "tests/testlib/fake_configfs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace atls {
namespace {

using test::FakeConfigfs;
using test::TempDir;

Bytes inblob64(std::uint8_t first) {
  Bytes b(64, 0);
  b[0] = first;
  b[63] = 0xee;
  return b;
}

bool dir_is_empty(const std::string& path) {
  return std::filesystem::is_empty(std::filesystem::path(path));
}

TEST(Tsm, RoundTripThroughTheFilesystem) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  FakeConfigfs fs;
  fs.respond = [](ByteView in) {
    Bytes out(in.begin(), in.end());
    out.push_back(0x42);  // "report" = inblob || 0x42
    return out;
  };
  fs.auxblob = Bytes{1, 2, 3};
  TsmConfig cfg;
  cfg.root = tmp.path();
  cfg.backend = &fs;

  const Bytes in = inblob64(0x11);
  auto r = tsm_get_report(cfg, in);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->provider, "sev_guest");
  Bytes want = in;
  want.push_back(0x42);
  EXPECT_EQ(r->outblob, want);
  EXPECT_EQ(r->auxblob, (Bytes{1, 2, 3}));
  EXPECT_EQ(r->generation, 1u);
  EXPECT_EQ(fs.last_inblob, in);
  EXPECT_FALSE(fs.last_privlevel.has_value());
  // One entry, under the root, removed afterwards.
  ASSERT_EQ(fs.made.size(), 1u);
  EXPECT_EQ(fs.made[0].rfind(tmp.path() + "/atls-", 0), 0u);
  EXPECT_EQ(fs.removed, fs.made);
  EXPECT_TRUE(dir_is_empty(tmp.path()));
}

TEST(Tsm, EachRequestUsesAFreshEntry) {
  TempDir tmp;
  FakeConfigfs fs;
  fs.respond = [](ByteView) { return Bytes{7}; };
  TsmConfig cfg{tmp.path(), -1, &fs};
  ASSERT_TRUE(tsm_get_report(cfg, inblob64(1)));
  ASSERT_TRUE(tsm_get_report(cfg, inblob64(2)));
  ASSERT_EQ(fs.made.size(), 2u);
  EXPECT_NE(fs.made[0], fs.made[1]);
}

TEST(Tsm, PrivlevelIsWrittenAndCounted) {
  TempDir tmp;
  FakeConfigfs fs;
  fs.respond = [](ByteView) { return Bytes{7}; };
  TsmConfig cfg{tmp.path(), 2, &fs};
  auto r = tsm_get_report(cfg, inblob64(1));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(fs.last_privlevel, std::optional<std::string>("2\n"));
  EXPECT_EQ(r->generation, 2u);  // privlevel + inblob
}

TEST(Tsm, MissingAuxblobIsEmpty) {
  TempDir tmp;
  FakeConfigfs fs;
  fs.provider = "tdx_guest\n";
  fs.respond = [](ByteView) { return Bytes{9, 9}; };
  TsmConfig cfg{tmp.path(), -1, &fs};
  auto r = tsm_get_report(cfg, inblob64(1));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->auxblob.empty());
  EXPECT_EQ(r->provider, "tdx_guest");
}

TEST(Tsm, ConcurrentWriterIsDetected) {
  TempDir tmp;
  FakeConfigfs fs;
  fs.respond = [](ByteView) { return Bytes{7}; };
  fs.concurrent_writer = true;
  TsmConfig cfg{tmp.path(), -1, &fs};
  auto r = tsm_get_report(cfg, inblob64(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::AttesterFailure);
  EXPECT_TRUE(dir_is_empty(tmp.path())) << "the entry is removed on failure too";
}

TEST(Tsm, EmptyOutblobFails) {
  TempDir tmp;
  FakeConfigfs fs;  // responds with nothing
  TsmConfig cfg{tmp.path(), -1, &fs};
  auto r = tsm_get_report(cfg, inblob64(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::AttesterFailure);
  EXPECT_TRUE(dir_is_empty(tmp.path()));
}

TEST(Tsm, BadArguments) {
  TempDir tmp;
  FakeConfigfs fs;
  TsmConfig cfg{tmp.path(), -1, &fs};
  EXPECT_EQ(tsm_get_report(cfg, Bytes(63, 0)).error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(tsm_get_report(cfg, Bytes(65, 0)).error().code, ErrorCode::InvalidArgument);
  cfg.privlevel = 4;
  EXPECT_EQ(tsm_get_report(cfg, inblob64(1)).error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(fs.made.empty()) << "nothing is created for a bad request";
}

TEST(Tsm, NoConfigfsTsm) {
  TempDir tmp;
  TsmConfig cfg;
  cfg.root = tmp.path() + "/no/such/dir";
  auto r = tsm_get_report(cfg, inblob64(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::FileNotFound);
}

TEST(Tsm, RealBackendOnAPlainDirectory) {
  // The default backend on a directory that is not configfs: the entry is
  // created, there is no generation attribute, and the entry is removed.
  TempDir tmp;
  TsmConfig cfg;
  cfg.root = tmp.path();
  auto r = tsm_get_report(cfg, inblob64(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::FileNotFound);
  EXPECT_TRUE(dir_is_empty(tmp.path()));
}

TEST(Tsm, FilesystemBackendReadLimit) {
  TempDir tmp;
  FilesystemTsmBackend fs;
  const std::string f = tmp.path() + "/blob";
  ASSERT_TRUE(fs.write_file(f, Bytes(5000, 0xab)));
  auto all = fs.read_file(f, 5000);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 5000u);
  EXPECT_EQ(fs.read_file(f, 4999).error().code, ErrorCode::FileTooLarge);
  EXPECT_EQ(fs.read_file(tmp.path() + "/none", 10).error().code, ErrorCode::FileNotFound);
  EXPECT_FALSE(fs.make_dir(tmp.path()));  // exists
}

}  // namespace
}  // namespace atls
