#pragma once
// CIFAR-10 and CIFAR-100 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny
// Images"), read from the official binary versions (https://www.cs.toronto.edu/~kriz/cifar.html):
//   CIFAR-10, cifar-10-binary.tar.gz, unpacks to cifar-10-batches-bin/: data_batch_1.bin …
//     data_batch_5.bin (training, 10,000 records each) and test_batch.bin (10,000). A record is
//     1 label byte (0-9) and 3072 pixel bytes.
//   CIFAR-100, cifar-100-binary.tar.gz, unpacks to cifar-100-binary/: train.bin (50,000 records)
//     and test.bin (10,000). A record is 1 coarse label byte (0-19), 1 fine label byte (0-99)
//     and 3072 pixel bytes; the task's class is the fine label (100 classes), the coarse one is
//     only checked.
// The pixel bytes of a record are the 1024 red values, then the 1024 green, then the 1024 blue,
// each channel a 32×32 image row-major. They are read into plast's layout: [0, 1] values
// (byte / 255), position-major and channel-minor (HWC), so feature (y·32 + x)·3 + c of a sample
// is channel c (0 red, 1 green, 2 blue) of the pixel in row y, column x; the one-hot targets
// have 10 or 100 columns. The tasks `cifar10` and `cifar100` are ImageClassification
// (tasks/image_classification.hpp) with these loaders.
//
// Every way a file can be wrong is one plast::Error line that names the file:
//   a missing file:  "PATH: file not found (download cifar-10-binary.tar.gz from
//                    https://www.cs.toronto.edu/~kriz/cifar.html and unpack it into DATA:
//                    tar -xzf cifar-10-binary.tar.gz -C DATA; see scripts/get-data)"
//   a size that is no whole number of records, an empty file, a label out of range (with the
//   record's index and value), and, where the official layout fixes it, a record count other
//   than the official one ("PATH: 9999 records, the official CIFAR-10 file has 10000"): the
//   registered tasks check the counts, so a file cut at a record boundary is refused too.
//   read_cifar_file and load_cifar without counts take any whole number of records (small
//   files in the same layout, as the tests write).
#include <string>
#include <vector>

#include "lib/task.hpp"
#include "tasks/image_classification.hpp"

namespace plast {

struct CifarFormat {
  std::string name;                       // "CIFAR-10"
  std::string folder;                     // under the data directory: "cifar-10-batches-bin"
  std::string archive;                    // the official download: "cifar-10-binary.tar.gz"
  int coarse_classes = 0;                 // CIFAR-100's first label byte (0-19); 0: no coarse label
  int classes = 0;                        // the class label: the record's last label byte
  std::vector<std::string> train_files;   // in this order, concatenated
  std::string test_file;
  long records_per_train_file = 0;        // the official counts
  long test_records = 0;

  static constexpr int kWidth = 32, kHeight = 32, kChannels = 3;
  static constexpr int kPixelBytes = kWidth * kHeight * kChannels;   // 3072
  int label_bytes() const { return coarse_classes > 0 ? 2 : 1; }
  int record_bytes() const { return label_bytes() + kPixelBytes; }   // 3073 or 3074
};

const CifarFormat& cifar10_format();
const CifarFormat& cifar100_format();

// Reads one binary file of `format`: x ([0, 1], HWC, 3072 columns), one-hot y and labels.
// `expected_records` > 0 is the count the file must hold; 0 takes any whole number (at least
// one). Throws plast::Error naming `path`.
Dataset read_cifar_file(const std::string& path, const CifarFormat& format, long expected_records = 0);

// The training files of `dir` (concatenated in order) and its test file, as ImageData (32×32, 3
// channels, format.classes classes). `official_counts`: every file must hold the official
// number of records. Not cached (cifar10_data and cifar100_data are).
ImageData load_cifar(const std::string& dir, const CifarFormat& format, bool official_counts = true);

// The loaders of the tasks cifar10 and cifar100: load_cifar with the official counts, cached
// per folder.
ImageData cifar10_data(const std::string& dir);
ImageData cifar100_data(const std::string& dir);

}  // namespace plast
