// CIFAR-10 and CIFAR-100 from their official binary layout (tasks/cifar.hpp), on tiny files the
// tests write themselves (no real CIFAR needed): pixel values and the HWC order of a known
// record, the labels (CIFAR-100's fine label), the tasks cifar10 and cifar100 built on them, and
// the one-line errors for a wrong size, a label out of range, a truncated, empty or missing file.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "lib/jitter.hpp"
#include "lib/params.hpp"
#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/cifar.hpp"
#include "tasks/image_classification.hpp"
#include "tasks/registry.hpp"
#include "tests/cli/cli_runner.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// The pixel byte of record `i`, channel c, row y, column x: every value distinct enough that a
// swapped axis or channel shows.
std::uint8_t pixel_byte(int i, int c, int y, int x) { return static_cast<std::uint8_t>((i * 31 + c * 85 + y * 7 + x * 3) % 256); }

// One record of the official layout: label bytes, then 1024 red, 1024 green, 1024 blue bytes,
// each channel 32×32 row-major.
std::string record(std::vector<std::uint8_t> labels, int i) {
  std::string r(labels.begin(), labels.end());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) r.push_back(static_cast<char>(pixel_byte(i, c, y, x)));
  return r;
}

// CIFAR-10 records labelled `labels`, record k drawn as record(k + first).
std::string cifar10_records(const std::vector<int>& labels, int first = 0) {
  std::string out;
  for (std::size_t k = 0; k < labels.size(); ++k)
    out += record({static_cast<std::uint8_t>(labels[k])}, first + static_cast<int>(k));
  return out;
}

std::string write_bytes(const test::ScratchDir& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(dir.path(name)).parent_path());
  std::ofstream(dir.path(name), std::ios::binary) << bytes;
  return dir.path(name);
}

// Sets PLAST_DATA for one scope.
struct DataDir {
  std::string saved;
  bool had;
  explicit DataDir(const std::string& dir) : had(std::getenv("PLAST_DATA") != nullptr) {
    if (had) saved = std::getenv("PLAST_DATA");
    setenv("PLAST_DATA", dir.c_str(), 1);
  }
  ~DataDir() {
    if (had) setenv("PLAST_DATA", saved.c_str(), 1);
    else unsetenv("PLAST_DATA");
  }
};

// A small CIFAR-10 folder: 2 + 3 + 1 + 2 + 2 training records (labels 0-9), 4 test records.
void write_small_cifar10(const test::ScratchDir& dir) {
  const std::vector<std::vector<int>> batches = {{0, 1}, {2, 3, 4}, {5}, {6, 7}, {8, 9}};
  int first = 0;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    write_bytes(dir, "cifar-10-batches-bin/data_batch_" + std::to_string(b + 1) + ".bin",
                cifar10_records(batches[b], first));
    first += static_cast<int>(batches[b].size());
  }
  write_bytes(dir, "cifar-10-batches-bin/test_batch.bin", cifar10_records({3, 1, 4, 1}, 100));
}

}  // namespace

TEST_SUITE("tasks/cifar") {
  TEST_CASE("CIFAR-10: pixels scaled to [0, 1] in HWC order, the label byte as the class") {
    const test::ScratchDir dir;
    const std::string path = write_bytes(dir, "b.bin", cifar10_records({3, 0, 9}));
    const Dataset d = read_cifar_file(path, cifar10_format());
    REQUIRE(d.size() == 3);
    REQUIRE(d.x.cols() == 3072);
    CHECK(d.labels == std::vector<int>{3, 0, 9});
    CHECK(d.y.cols() == 10);
    CHECK(d.y == test::one_hot({3, 0, 9}, 10));
    // Known values of record 1: channel c of pixel (y, x) is feature (y·32 + x)·3 + c.
    CHECK(d.x(1, 0) == 31.0f / 255.0f);                           // red (0, 0)
    CHECK(d.x(1, 1) == 116.0f / 255.0f);                          // green (0, 0): 31 + 85
    CHECK(d.x(1, 2) == 201.0f / 255.0f);                          // blue (0, 0): 31 + 170
    CHECK(d.x(1, 3) == 34.0f / 255.0f);                           // red (0, 1): 31 + 3
    CHECK(d.x(1, 32 * 3) == 38.0f / 255.0f);                      // red (1, 0): 31 + 7
    CHECK(d.x(1, (31 * 32 + 31) * 3 + 2) == 1.0f);                // blue (31, 31): 31 + 170 + 217 + 93 = 511, byte 255
    // Every value, against the layout.
    int mismatches = 0;
    for (int i = 0; i < 3; ++i)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
          for (int c = 0; c < 3; ++c)
            mismatches += d.x(i, (y * 32 + x) * 3 + c) != static_cast<float>(pixel_byte(i, c, y, x)) / 255.0f;
    CHECK(mismatches == 0);
    CHECK(d.x.minCoeff() >= 0.0f);
    CHECK(d.x.maxCoeff() <= 1.0f);
    // Bytes 0 and 255 are 0 and 1 exactly.
    std::string extremes = record({7}, 0);
    extremes[1] = static_cast<char>(0);
    extremes[2] = static_cast<char>(255);
    const Dataset e = read_cifar_file(write_bytes(dir, "e.bin", extremes), cifar10_format());
    CHECK(e.x(0, 0) == 0.0f);
    CHECK(e.x(0, 3) == 1.0f);
  }

  TEST_CASE("CIFAR-100: the fine label (second byte) is the class, out of 100; the pixels follow both label bytes") {
    const test::ScratchDir dir;
    const std::string path =
        write_bytes(dir, "train.bin", record({7, 42}, 0) + record({19, 99}, 1) + record({0, 0}, 2));
    const Dataset d = read_cifar_file(path, cifar100_format());
    REQUIRE(d.size() == 3);
    CHECK(d.labels == std::vector<int>{42, 99, 0});
    CHECK(d.y.cols() == 100);
    CHECK(d.y == test::one_hot({42, 99, 0}, 100));
    int mismatches = 0;
    for (int i = 0; i < 3; ++i)
      for (int p = 0; p < 1024; ++p)
        for (int c = 0; c < 3; ++c)
          mismatches += d.x(i, p * 3 + c) != static_cast<float>(pixel_byte(i, c, p / 32, p % 32)) / 255.0f;
    CHECK(mismatches == 0);
    CHECK(cifar100_format().record_bytes() == 3074);
    CHECK(cifar10_format().record_bytes() == 3073);
  }

  TEST_CASE("a folder: the five CIFAR-10 training batches in order, the test batch; the official counts are checked") {
    const test::ScratchDir dir;
    write_small_cifar10(dir);
    const std::string folder = dir.path("cifar-10-batches-bin");
    const ImageData data = load_cifar(folder, cifar10_format(), false);
    CHECK(data.width == 32);
    CHECK(data.height == 32);
    CHECK(data.channels == 3);
    CHECK(data.classes == 10);
    REQUIRE(data.train->size() == 10);
    CHECK(data.train->labels == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    for (int i = 0; i < 10; ++i) CHECK(data.train->x(i, 0) == static_cast<float>(pixel_byte(i, 0, 0, 0)) / 255.0f);
    REQUIRE(data.test->size() == 4);
    CHECK(data.test->labels == std::vector<int>{3, 1, 4, 1});
    CHECK(data.test->x(2, 1) == static_cast<float>(pixel_byte(102, 1, 0, 0)) / 255.0f);
    // The registered task's loader wants the official 10,000 records per file.
    CHECK(test::error_message([&] { load_cifar(folder, cifar10_format()); }) ==
          folder + "/data_batch_1.bin: 2 records, the official CIFAR-10 file has 10000");
  }

  TEST_CASE("the cifar10 task: ImageClassification on the CIFAR files, 3072 inputs, 10 classes, the image tasks' parameters") {
    const auto family = task_registry().make("cifar10");
    CHECK(family->name() == "cifar10");
    CHECK(family->shares_test_set());
    const auto* image = dynamic_cast<const ImageClassification*>(family.get());
    CHECK(image != nullptr);
    std::set<std::string> names, image_names;
    for (const auto& p : task_registry().get("cifar10").params) names.insert(p.name);
    for (const auto& p : ImageClassification::params()) image_names.insert(p.name);
    CHECK(names == image_names);
    for (const auto& p : task_registry().get("cifar100").params) CHECK(image_names.count(p.name) == 1);

    // The same family on the small folder (its loader without the official counts).
    const test::ScratchDir dir;
    write_small_cifar10(dir);
    const DataDir data(dir.dir.string());
    const ParamValues params = complete_params("task cifar10", ImageClassification::params(),
                                               {{"validation_fraction", 0.2}, {"jitter", 2}});
    const ImageClassification small("cifar10", "cifar-10-batches-bin", params, [](const std::string& folder) {
      return load_cifar(folder, cifar10_format(), false);
    });
    const Task t = small.sample(1, 0, Split::meta_train);
    CHECK(t.name == "cifar10");
    CHECK(t.input_size == 3072);
    CHECK(t.output_size == 10);
    CHECK(t.loss == Loss::softmax_cross_entropy);
    CHECK(t.output_activation == Activation::linear);
    CHECK(t.classification);
    CHECK(t.train->size() == 8);
    CHECK(t.validation->size() == 2);
    CHECK(t.test->size() == 4);
    CHECK(t.test->y.cols() == 10);
    // Standardized with the training split's one mean and deviation, every channel alike.
    CHECK(t.train->x.cast<double>().mean() == doctest::Approx(0.0).scale(1.0).epsilon(1e-5));
    CHECK(t.train->x.cast<double>().array().square().mean() == doctest::Approx(1.0).epsilon(1e-4));
    // jitter moves 32×32 images of 3 channels; black is the fill.
    REQUIRE(image_jitter(t));
    CHECK(image_jitter(t)->width == 32);
    CHECK(image_jitter(t)->height == 32);
    CHECK(image_jitter(t)->channels == 3);
    CHECK(image_jitter(t)->features() == 3072);
    // A backprop student with the task's default network trains on it.
    const auto rule = rule_registry().make("backprop");
    TrainBudget budget;
    budget.epochs = 1;
    budget.batch = 4;
    budget.alignment = false;
    Student s = make_student(t, StudentSpec{{16}, Activation::relu, 1.0f}, *rule, OptimizerSpec{}, budget.batch, 1);
    CHECK(train(s, *rule, t, budget).outcome == Outcome::ok);
  }

  TEST_CASE("cifar100: 100 classes from the fine labels of train.bin and test.bin") {
    const test::ScratchDir dir;
    std::string train_bytes;
    for (int i = 0; i < 10; ++i)
      train_bytes += record({static_cast<std::uint8_t>(i % 20), static_cast<std::uint8_t>(i * 11)}, i);
    write_bytes(dir, "cifar-100-binary/train.bin", train_bytes);
    write_bytes(dir, "cifar-100-binary/test.bin", record({3, 77}, 50) + record({4, 5}, 51));
    const DataDir data(dir.dir.string());
    const ParamValues params = complete_params("task cifar100", ImageClassification::params(), {});
    const ImageClassification small("cifar100", "cifar-100-binary", params, [](const std::string& folder) {
      return load_cifar(folder, cifar100_format(), false);
    });
    const Task t = small.sample(1, 0, Split::meta_train);
    CHECK(t.input_size == 3072);
    CHECK(t.output_size == 100);
    CHECK(t.loss == Loss::softmax_cross_entropy);
    CHECK(t.test->labels == std::vector<int>{77, 5});
    CHECK(t.train->size() + t.validation->size() == 10);
    std::set<int> labels(t.train->labels.begin(), t.train->labels.end());
    labels.insert(t.validation->labels.begin(), t.validation->labels.end());
    CHECK(labels == std::set<int>{0, 11, 22, 33, 44, 55, 66, 77, 88, 99});
    CHECK(task_registry().make("cifar100")->shares_test_set());
  }

  TEST_CASE("refused: a size that is no whole number of records, one line naming the file") {
    const test::ScratchDir dir;
    const std::string path = write_bytes(dir, "data_batch_1.bin", cifar10_records({1, 2}) + "x");
    CHECK(test::error_message([&] { read_cifar_file(path, cifar10_format()); }) ==
          path + ": 6147 bytes is not a whole number of 3073-byte records");
    // A CIFAR-100 file read as CIFAR-10: 2 × 3074 bytes.
    const std::string hundred = write_bytes(dir, "train.bin", record({1, 2}, 0) + record({3, 4}, 1));
    CHECK(test::error_message([&] { read_cifar_file(hundred, cifar10_format()); }) ==
          hundred + ": 6148 bytes is not a whole number of 3073-byte records");
  }

  TEST_CASE("refused: a label out of range, naming the record and the value") {
    const test::ScratchDir dir;
    const std::string ten = write_bytes(dir, "test_batch.bin", cifar10_records({9, 10, 0}));
    CHECK(test::error_message([&] { read_cifar_file(ten, cifar10_format()); }) ==
          ten + ": record 1 (byte offset 3073) has label 10, CIFAR-10 labels are 0-9");
    const std::string fine = write_bytes(dir, "fine.bin", record({0, 0}, 0) + record({1, 1}, 1) + record({19, 100}, 2));
    CHECK(test::error_message([&] { read_cifar_file(fine, cifar100_format()); }) ==
          fine + ": record 2 (byte offset 6148) has fine label 100, CIFAR-100 fine labels are 0-99");
    const std::string coarse = write_bytes(dir, "coarse.bin", record({20, 3}, 0));
    CHECK(test::error_message([&] { read_cifar_file(coarse, cifar100_format()); }) ==
          coarse + ": record 0 (byte offset 0) has coarse label 20, CIFAR-100 coarse labels are 0-19");
  }

  TEST_CASE("refused: a truncated or empty file") {
    const test::ScratchDir dir;
    // Cut inside its last record.
    const std::string whole = cifar10_records({1, 2, 3});
    const std::string cut = write_bytes(dir, "cut.bin", whole.substr(0, whole.size() - 100));
    CHECK(test::error_message([&] { read_cifar_file(cut, cifar10_format()); }) ==
          cut + ": 9119 bytes is not a whole number of 3073-byte records");
    // Shorter than one record.
    const std::string stub = write_bytes(dir, "stub.bin", whole.substr(0, 1000));
    CHECK(test::error_message([&] { read_cifar_file(stub, cifar10_format()); }) ==
          stub + ": 1000 bytes is not a whole number of 3073-byte records");
    // Cut at a record boundary: fewer records than the official file holds.
    const std::string short_file = write_bytes(dir, "short.bin", whole.substr(0, 2 * 3073));
    CHECK(test::error_message([&] { read_cifar_file(short_file, cifar10_format(), 10000); }) ==
          short_file + ": 2 records, the official CIFAR-10 file has 10000");
    CHECK(read_cifar_file(short_file, cifar10_format()).size() == 2);   // no count asked: any whole number
    const std::string empty = write_bytes(dir, "empty.bin", "");
    CHECK(test::error_message([&] { read_cifar_file(empty, cifar100_format()); }) ==
          empty + ": empty file (no 3074-byte CIFAR-100 records)");
    std::filesystem::create_directories(dir.path("folder.bin"));
    CHECK(test::error_message([&] { read_cifar_file(dir.path("folder.bin"), cifar10_format()); }) ==
          dir.path("folder.bin") + ": not a regular file");
  }

  TEST_CASE("refused: missing files, saying where to download them and which folder to unpack them into") {
    const test::ScratchDir dir;
    CHECK(test::error_message([&] { read_cifar_file(dir.path("cifar-10-batches-bin/test_batch.bin"), cifar10_format()); }) ==
          dir.path("cifar-10-batches-bin/test_batch.bin") +
              ": file not found (download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and "
              "unpack it into " + dir.dir.string() + ": tar -xzf cifar-10-binary.tar.gz -C " + dir.dir.string() +
              "; or set PLAST_DATA; see scripts/get-data)");
    // Through the registered tasks, with the data folder of PLAST_DATA.
    const DataDir data("/nonexistent-plast-data");
    CHECK(test::error_message([] { task_registry().make("cifar10")->sample(1, 0, Split::meta_train); }) ==
          "/nonexistent-plast-data/cifar-10-batches-bin/data_batch_1.bin: file not found (download "
          "cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it into "
          "/nonexistent-plast-data: tar -xzf cifar-10-binary.tar.gz -C /nonexistent-plast-data; or set PLAST_DATA; "
          "see scripts/get-data)");
    CHECK(test::error_message([] { task_registry().make("cifar100")->sample(1, 0, Split::meta_train); }) ==
          "/nonexistent-plast-data/cifar-100-binary/train.bin: file not found (download cifar-100-binary.tar.gz from "
          "https://www.cs.toronto.edu/~kriz/cifar.html and unpack it into /nonexistent-plast-data: tar -xzf "
          "cifar-100-binary.tar.gz -C /nonexistent-plast-data; or set PLAST_DATA; see scripts/get-data)");
    // A folder with its training batches but no test batch names the test batch.
    const test::ScratchDir partial;
    write_bytes(partial, "cifar-10-batches-bin/data_batch_1.bin", cifar10_records({1}));
    for (int b = 2; b <= 5; ++b)
      write_bytes(partial, "cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin", cifar10_records({2}));
    const std::string message =
        test::error_message([&] { load_cifar(partial.path("cifar-10-batches-bin"), cifar10_format(), false); });
    CHECK(message.rfind(partial.path("cifar-10-batches-bin/test_batch.bin") + ": file not found (", 0) == 0);
  }
}
