#include "tasks/cifar.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "lib/error.hpp"

namespace plast {
namespace {

constexpr const char* kCifarPage = "https://www.cs.toronto.edu/~kriz/cifar.html";

// A file's bytes, checked: a whole number of records (the expected number, when given) whose
// labels are in range.
struct RecordFile {
  std::vector<std::uint8_t> bytes;
  Eigen::Index records = 0;
};

// Where the official archive must be unpacked for `path` to exist: the folder above the
// dataset's folder (the data directory).
std::string unpack_folder(const std::string& path) {
  const std::string up = std::filesystem::path(path).parent_path().parent_path().string();
  return up.empty() ? "." : up;
}

RecordFile read_records(const std::string& path, const CifarFormat& f, long expected) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    const std::string into = unpack_folder(path);
    throw Error(path + ": file not found (download " + f.archive + " from " + kCifarPage + " and unpack it into " +
                into + ": tar -xzf " + f.archive + " -C " + into + "; or set PLAST_DATA; see scripts/get-data)");
  }
  if (!fs::is_regular_file(status)) throw Error(path + ": not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read its size (" + ec.message() + ")");
  const auto record = static_cast<std::uintmax_t>(f.record_bytes());
  if (size == 0) throw Error(path + ": empty file (no " + std::to_string(record) + "-byte " + f.name + " records)");
  if (size % record != 0)
    throw Error(path + ": " + std::to_string(size) + " bytes is not a whole number of " + std::to_string(record) +
                "-byte records");
  const auto n = static_cast<Eigen::Index>(size / record);
  if (expected > 0 && n != expected)
    throw Error(path + ": " + std::to_string(n) + " records, the official " + f.name + " file has " +
                std::to_string(expected));

  RecordFile out;
  out.records = n;
  out.bytes.resize(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  in.read(reinterpret_cast<char*>(out.bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size))
    throw Error(path + ": cannot read file (" + std::to_string(in.gcount()) + " of " + std::to_string(size) +
                " bytes read)");

  for (Eigen::Index i = 0; i < n; ++i) {
    const std::uintmax_t offset = static_cast<std::uintmax_t>(i) * record;
    const std::uint8_t* r = out.bytes.data() + offset;
    const std::string where = path + ": record " + std::to_string(i) + " (byte offset " + std::to_string(offset) + ")";
    if (f.coarse_classes > 0 && r[0] >= f.coarse_classes)
      throw Error(where + " has coarse label " + std::to_string(r[0]) + ", " + f.name + " coarse labels are 0-" +
                  std::to_string(f.coarse_classes - 1));
    const int label = r[f.label_bytes() - 1];
    if (label >= f.classes)
      throw Error(where + " has " + (f.coarse_classes > 0 ? "fine label " : "label ") + std::to_string(label) + ", " +
                  f.name + (f.coarse_classes > 0 ? " fine labels" : " labels") + " are 0-" +
                  std::to_string(f.classes - 1));
  }
  return out;
}

// The records of `files`, in order, as one dataset: pixel c·1024 + p of a record (channel-major,
// CHW) becomes feature p·3 + c (HWC), scaled by 1/255.
Dataset decode(const std::vector<RecordFile>& files, const CifarFormat& f) {
  constexpr int plane = CifarFormat::kWidth * CifarFormat::kHeight, channels = CifarFormat::kChannels;
  Eigen::Index n = 0;
  for (const RecordFile& file : files) n += file.records;
  Dataset d;
  d.x.resize(n, CifarFormat::kPixelBytes);
  d.y = Matrix::Zero(n, f.classes);
  d.labels.reserve(static_cast<std::size_t>(n));
  Eigen::Index row = 0;
  for (const RecordFile& file : files)
    for (Eigen::Index i = 0; i < file.records; ++i, ++row) {
      const std::uint8_t* r = file.bytes.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(f.record_bytes());
      const int label = r[f.label_bytes() - 1];
      const std::uint8_t* pixels = r + f.label_bytes();
      float* x = d.x.row(row).data();
      for (int c = 0; c < channels; ++c)
        for (int p = 0; p < plane; ++p) x[p * channels + c] = static_cast<float>(pixels[c * plane + p]) / 255.0f;
      d.labels.push_back(label);
      d.y(row, label) = 1.0f;
    }
  return d;
}

}  // namespace

const CifarFormat& cifar10_format() {
  static const CifarFormat f{
      .name = "CIFAR-10",
      .folder = "cifar-10-batches-bin",
      .archive = "cifar-10-binary.tar.gz",
      .coarse_classes = 0,
      .classes = 10,
      .train_files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                      "data_batch_5.bin"},
      .test_file = "test_batch.bin",
      .records_per_train_file = 10000,
      .test_records = 10000,
  };
  return f;
}

const CifarFormat& cifar100_format() {
  static const CifarFormat f{
      .name = "CIFAR-100",
      .folder = "cifar-100-binary",
      .archive = "cifar-100-binary.tar.gz",
      .coarse_classes = 20,
      .classes = 100,
      .train_files = {"train.bin"},
      .test_file = "test.bin",
      .records_per_train_file = 50000,
      .test_records = 10000,
  };
  return f;
}

Dataset read_cifar_file(const std::string& path, const CifarFormat& format, long expected_records) {
  std::vector<RecordFile> files;
  files.push_back(read_records(path, format, expected_records));
  return decode(files, format);
}

ImageData load_cifar(const std::string& dir, const CifarFormat& format, bool official_counts) {
  ImageData data;
  data.width = CifarFormat::kWidth;
  data.height = CifarFormat::kHeight;
  data.channels = CifarFormat::kChannels;
  data.classes = format.classes;
  {
    std::vector<RecordFile> train;
    for (const std::string& name : format.train_files)
      train.push_back(read_records(dir + "/" + name, format, official_counts ? format.records_per_train_file : 0));
    data.train = std::make_shared<const Dataset>(decode(train, format));
  }
  std::vector<RecordFile> test;
  test.push_back(read_records(dir + "/" + format.test_file, format, official_counts ? format.test_records : 0));
  data.test = std::make_shared<const Dataset>(decode(test, format));
  return data;
}

ImageData cifar10_data(const std::string& dir) {
  return cached_image_data("cifar-10:" + dir, [&] { return load_cifar(dir, cifar10_format()); });
}

ImageData cifar100_data(const std::string& dir) {
  return cached_image_data("cifar-100:" + dir, [&] { return load_cifar(dir, cifar100_format()); });
}

}  // namespace plast
