#include "lib/weights_file.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "lib/error.hpp"

namespace plast {
namespace {

constexpr const char* kMagic = "plast-mlp 1";
static_assert(std::endian::native == std::endian::little, "weights files are little-endian float32");

long expected_floats(const MlpShape& shape) {
  long n = 0;
  for (int l = 0; l < shape.num_layers(); ++l) n += static_cast<long>(shape.sizes[l + 1]) * (shape.sizes[l] + 1);
  return n;
}

}  // namespace

void save_weights(const Mlp& net, const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot write file");
  out << kMagic << "\nsizes";
  for (int s : net.shape().sizes) out << ' ' << s;
  out << " hidden " << to_string(net.shape().hidden) << " output " << to_string(net.shape().output) << '\n';
  for (int l = 0; l < net.num_layers(); ++l) {
    const Matrix& w = net.weight(l);   // row-major already
    out.write(reinterpret_cast<const char*>(w.data()), static_cast<std::streamsize>(sizeof(float) * w.size()));
    const RowVector& b = net.bias(l);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(sizeof(float) * b.size()));
  }
  out.flush();
  if (!out) throw Error(path + ": cannot write file");
}

Mlp load_weights(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw Error(path + ": file not found (write it with `plast train ... --save-weights " + path + "`)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::string magic, sizes_line;
  if (!std::getline(in, magic) || magic != kMagic)
    throw Error(path + ": not a plast weights file (its first line is not '" + std::string(kMagic) + "')");
  if (!std::getline(in, sizes_line)) throw Error(path + ": truncated (no 'sizes' line)");
  std::istringstream words(sizes_line);
  std::string word;
  words >> word;
  if (word != "sizes") throw Error(path + ": line 2 must start with 'sizes', not '" + word + "'");
  MlpShape shape;
  std::string hidden, output;
  while (words >> word) {
    if (word == "hidden") {
      words >> hidden;
      continue;
    }
    if (word == "output") {
      words >> output;
      continue;
    }
    int size = 0;
    std::size_t used = 0;
    try {
      size = std::stoi(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || size < 1 || size > 100000000)
      throw Error(path + ": line 2: layer size '" + word + "' is not a positive integer");
    shape.sizes.push_back(size);
  }
  if (shape.sizes.size() < 2) throw Error(path + ": line 2: needs at least an input and an output size");
  try {
    shape.hidden = parse_activation(hidden);
    shape.output = parse_activation(output);
  } catch (const Error& e) {
    throw Error(path + ": line 2: " + e.what());
  }
  const long floats = expected_floats(shape);
  const auto data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const long bytes = static_cast<long>(in.tellg() - data_start);
  if (bytes != floats * static_cast<long>(sizeof(float)))
    throw Error(path + ": holds " + std::to_string(bytes) + " bytes of weights, the sizes on line 2 need " +
                std::to_string(floats * static_cast<long>(sizeof(float))) + (bytes < floats * 4 ? " (truncated)" : ""));
  in.seekg(data_start);
  Mlp net(shape);
  for (int l = 0; l < net.num_layers(); ++l) {
    Matrix& w = net.weight(l);
    in.read(reinterpret_cast<char*>(w.data()), static_cast<std::streamsize>(sizeof(float) * w.size()));
    RowVector& b = net.bias(l);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(sizeof(float) * b.size()));
  }
  if (!in) throw Error(path + ": cannot read the weights");
  if (!net.all_finite()) throw Error(path + ": holds weights that are not finite (NaN or Inf)");
  return net;
}

}  // namespace plast
