#include "lib/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "lib/error.hpp"

namespace plast {

std::string data_dir() {
  const char* env = std::getenv("PLAST_DATA");
  return env && *env ? std::string(env) : std::string("data");
}

namespace {

// Reads a whole file, inflating it if it is gzipped (gzread passes plain files through).
std::vector<std::uint8_t> read_all(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw Error(path + ": file not found (run scripts/get-data, or set PLAST_DATA to the data folder)");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw Error(path + ": cannot open file");
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const int n = gzread(file.get(), chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      // zlib's message already starts with "PATH: "; name the file once.
      std::string msg = gzerror(file.get(), &code);
      if (msg.rfind(path + ": ", 0) == 0) msg.erase(0, path.size() + 2);
      // Z_ERRNO: reading failed (e.g. the path is a directory), not the data.
      throw Error(path + (code == Z_ERRNO ? ": cannot read file (" : ": corrupt gzip data (") + msg + ")");
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  // A truncated gzip stream reads as a short file with Z_BUF_ERROR set.
  int code = 0;
  gzerror(file.get(), &code);
  if (code == Z_BUF_ERROR) throw Error(path + ": truncated gzip stream");
  return bytes;
}

std::uint32_t big_endian(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

IdxArray read_idx(const std::string& path, int expected_dims) {
  const auto bytes = read_all(path);
  if (bytes.size() < 4) throw Error(path + ": truncated IDX file (" + std::to_string(bytes.size()) + " bytes, no header)");
  const std::uint32_t magic = big_endian(bytes.data());
  const std::uint32_t expected_magic = 0x0800u + static_cast<std::uint32_t>(expected_dims);
  if (magic != expected_magic) {
    char got[16], want[16];
    std::snprintf(got, sizeof got, "0x%08X", magic);
    std::snprintf(want, sizeof want, "0x%08X", expected_magic);
    throw Error(path + ": wrong magic number " + got + " (expected " + want + ", unsigned bytes in " +
                std::to_string(expected_dims) + (expected_dims == 1 ? " dimension)" : " dimensions)"));
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(expected_dims);
  if (bytes.size() < header) throw Error(path + ": truncated IDX header");
  IdxArray out;
  std::size_t count = 1;
  bool overflow = false;
  for (int d = 0; d < expected_dims; ++d) {
    const std::uint32_t size = big_endian(bytes.data() + 4 + 4 * d);
    out.dims.push_back(size);
    if (size != 0 && count > SIZE_MAX / size) overflow = true;
    count *= size;
  }
  // A product that wraps around (2^31 x 2^31 x 4 = 0 mod 2^64) must not pass for a small one
  // (a zero size makes the true product 0, so that one is honest).
  if (overflow && std::find(out.dims.begin(), out.dims.end(), 0u) == out.dims.end()) {
    std::string sizes;
    for (auto d : out.dims) sizes += (sizes.empty() ? "" : " x ") + std::to_string(d);
    throw Error(path + ": corrupt IDX header: sizes " + sizes + " exceed any file");
  }
  const std::size_t have = bytes.size() - header;
  if (have < count)
    throw Error(path + ": truncated: header promises " + std::to_string(count) + " bytes of data, file has " +
                std::to_string(have));
  if (have > count)
    throw Error(path + ": size does not match header: " + std::to_string(count) + " bytes of data expected, file has " +
                std::to_string(have));
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

}  // namespace plast
