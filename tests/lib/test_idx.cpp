// The IDX reader (lib/idx.hpp): valid files read back exactly, raw and gzipped alike; every
// broken file ends in one plast::Error line that starts with the path. The small files in
// tests/data/idx/ are made by tests/data/make-broken-idx.py (which lists them).
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "lib/idx.hpp"

using plast::IdxArray;
using plast::read_idx;

namespace {

std::string idx_file(const std::string& name) { return std::string(PLAST_TEST_DATA) + "/idx/" + name; }

// The message of the plast::Error that read_idx throws ("<no error>" if none; any other
// exception fails the test).
std::string idx_error(const std::string& path, int dims) {
  try {
    read_idx(path, dims);
  } catch (const plast::Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::vector<std::uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A scratch folder removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "plast-idx-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Sets (or, with nullopt, unsets) an environment variable and restores it on scope exit.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> saved;
  ScopedEnv(std::string n, std::optional<std::string> value) : name(std::move(n)) {
    if (const char* old = std::getenv(name.c_str())) saved = old;
    if (value) setenv(name.c_str(), value->c_str(), 1);
    else unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (saved) setenv(name.c_str(), saved->c_str(), 1);
    else unsetenv(name.c_str());
  }
};

std::vector<std::uint8_t> idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  auto put = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
  };
  put(magic);
  for (auto d : dims) put(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace

TEST_SUITE("lib/idx") {

TEST_CASE("valid images read back their exact dims and bytes, raw and gzipped alike") {
  std::vector<std::uint8_t> expected(12);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::uint8_t>(i);
  for (const char* name : {"images.idx", "images.idx.gz"}) {
    CAPTURE(name);
    const IdxArray a = read_idx(idx_file(name), 3);
    CHECK(a.dims == std::vector<std::uint32_t>{3, 2, 2});
    CHECK(a.data == expected);
  }
  // The gzipped file really is gzip (so the test covers inflating).
  const auto gz = file_bytes(idx_file("images.idx.gz"));
  REQUIRE(gz.size() >= 2);
  CHECK((gz[0] == 0x1f && gz[1] == 0x8b));
}

TEST_CASE("valid labels read back their exact dims and bytes, raw and gzipped alike") {
  for (const char* name : {"labels.idx", "labels.idx.gz"}) {
    CAPTURE(name);
    const IdxArray a = read_idx(idx_file(name), 1);
    CHECK(a.dims == std::vector<std::uint32_t>{3});
    CHECK(a.data == std::vector<std::uint8_t>{7, 0, 9});
  }
}

TEST_CASE("a large file spanning many read chunks reads back exactly, raw and gzipped") {
  TempDir dir;
  std::vector<std::uint8_t> data(300 * 28 * 28);
  std::uint32_t x = 12345;
  for (auto& b : data) b = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 24);
  const auto bytes = idx_bytes(0x803, {300, 28, 28}, data);
  write_bytes(dir.file("big.idx"), bytes);
  gzFile gz = gzopen(dir.file("big.idx.gz").c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(gz) == Z_OK);
  for (const char* name : {"big.idx", "big.idx.gz"}) {
    CAPTURE(name);
    const IdxArray a = read_idx(dir.file(name), 3);
    CHECK(a.dims == std::vector<std::uint32_t>{300, 28, 28});
    CHECK(a.data == data);
  }
  // Cut the gzipped file at its middle (deep inside the deflate stream, after whole chunks).
  const auto packed = file_bytes(dir.file("big.idx.gz"));
  write_bytes(dir.file("cut.idx.gz"), {packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(packed.size() / 2)});
  CHECK(idx_error(dir.file("cut.idx.gz"), 3) == dir.file("cut.idx.gz") + ": truncated gzip stream");
  // The raw file one byte short, and one byte long.
  write_bytes(dir.file("short.idx"), {bytes.begin(), bytes.end() - 1});
  CHECK(idx_error(dir.file("short.idx"), 3) ==
        dir.file("short.idx") + ": truncated: header promises 235200 bytes of data, file has 235199");
  auto longer = bytes;
  longer.push_back(0);
  write_bytes(dir.file("long.idx"), longer);
  CHECK(idx_error(dir.file("long.idx"), 3) ==
        dir.file("long.idx") + ": size does not match header: 235200 bytes of data expected, file has 235201");
}

TEST_CASE("an empty dimension is a valid, empty array") {
  TempDir dir;
  write_bytes(dir.file("none.idx"), idx_bytes(0x803, {0, 28, 28}, {}));
  const IdxArray a = read_idx(dir.file("none.idx"), 3);
  CHECK(a.dims == std::vector<std::uint32_t>{0, 28, 28});
  CHECK(a.data.empty());
}

TEST_CASE("each broken file gives exactly its one-line message, starting with the path") {
  struct Case {
    const char* file;
    int dims;
    std::string message;  // after "PATH: "
  };
  const std::vector<Case> cases{
      {"wrong_magic.idx", 3, "wrong magic number 0x00000D03 (expected 0x00000803, unsigned bytes in 3 dimensions)"},
      // Images where labels are expected, and the other way round.
      {"images.idx", 1, "wrong magic number 0x00000803 (expected 0x00000801, unsigned bytes in 1 dimension)"},
      {"labels.idx.gz", 3, "wrong magic number 0x00000801 (expected 0x00000803, unsigned bytes in 3 dimensions)"},
      {"truncated.idx", 3, "truncated: header promises 12 bytes of data, file has 7"},
      {"trailing.idx", 3, "size does not match header: 12 bytes of data expected, file has 15"},
      {"truncated.idx.gz", 3, "truncated gzip stream"},
      {"corrupt.idx.gz", 3, "corrupt gzip data (incorrect data check)"},
      // Plain text: not gzip, so it is read as it is, and "this" is no magic number.
      {"garbage.bin", 3, "wrong magic number 0x74686973 (expected 0x00000803, unsigned bytes in 3 dimensions)"},
      {"empty.idx", 3, "truncated IDX file (0 bytes, no header)"},
      {"empty.idx", 1, "truncated IDX file (0 bytes, no header)"},
      {"short.idx", 1, "truncated IDX file (2 bytes, no header)"},
      {"header_only.idx", 3, "truncated: header promises 12 bytes of data, file has 0"},
      {"short_header.idx", 3, "truncated IDX header"},
      {"overflow.idx", 3, "corrupt IDX header: sizes 2147483648 x 2147483648 x 4 exceed any file"},
  };
  for (const auto& c : cases) {
    const std::string path = idx_file(c.file);
    CAPTURE(path);
    const std::string message = idx_error(path, c.dims);
    CHECK(message == path + ": " + c.message);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a gzipped file cut at any byte is an error, never a short array") {
  TempDir dir;
  const auto gz = file_bytes(idx_file("images.idx.gz"));
  REQUIRE(gz.size() > 20);
  for (std::size_t n = 0; n < gz.size(); ++n) {
    const std::string path = dir.file("cut" + std::to_string(n) + ".gz");
    write_bytes(path, {gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(n)});
    CAPTURE(n);
    const std::string message = idx_error(path, 3);
    if (n < 2) {
      // Too short to be recognized as gzip: read as a (too short) plain file.
      CHECK(message == path + ": truncated IDX file (" + std::to_string(n) + " bytes, no header)");
    } else {
      CHECK(message == path + ": truncated gzip stream");
    }
  }
}

TEST_CASE("a missing file names scripts/get-data") {
  const std::string path = idx_file("no-such-file-idx3-ubyte.gz");
  CHECK(idx_error(path, 3) == path + ": file not found (run scripts/get-data, or set PLAST_DATA to the data folder)");
}

TEST_CASE("a directory is reported as unreadable, not as corrupt data") {
  const std::string path = std::string(PLAST_TEST_DATA) + "/idx";
  CHECK(idx_error(path, 3) == path + ": cannot read file (Is a directory)");
}

TEST_CASE("data_dir() is $PLAST_DATA when set and not empty, else ./data") {
  {
    ScopedEnv env("PLAST_DATA", "/some/where/data");
    CHECK(plast::data_dir() == "/some/where/data");
  }
  {
    ScopedEnv env("PLAST_DATA", std::nullopt);
    CHECK(plast::data_dir() == "data");
  }
  {
    ScopedEnv env("PLAST_DATA", "");
    CHECK(plast::data_dir() == "data");
  }
}

}  // TEST_SUITE
