#pragma once
// Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al., "The MNIST database",
// file-format section): a big-endian header (magic 0x0000080D: 0x08 = unsigned byte,
// D = number of dimensions), D big-endian uint32 sizes, then the bytes. Files may be gzipped.
// Every way a file can be wrong ends in one plast::Error line that names the file.
#include <cstdint>
#include <string>
#include <vector>

namespace plast {

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads `path` (gzip detected by its magic bytes). `expected_dims` (1 for labels, 3 for
// images) is checked against the header. A missing file names scripts/get-data.
IdxArray read_idx(const std::string& path, int expected_dims);

// The data folder: $PLAST_DATA if set, else ./data.
std::string data_dir();

}  // namespace plast
