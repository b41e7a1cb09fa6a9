#include "search/strategy.hpp"

#include <cstring>

#include "lib/error.hpp"

namespace plast {
namespace {

constexpr char kMagic[8] = {'P', 'L', 'S', 'T', 'S', 'T', '0', '1'};

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_string(std::string& out, const std::string& s) {
  put(out, static_cast<std::uint64_t>(s.size()));
  out += s;
}

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - pos_) throw Error("strategy checkpoint is truncated or corrupt");
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  const std::string& bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string StrategyState::save() const {
  std::string out(kMagic, sizeof kMagic);
  put(out, static_cast<std::uint64_t>(arrays.size()));
  for (const auto& [name, a] : arrays) {
    put_string(out, name);
    put(out, static_cast<std::uint64_t>(a.rows()));
    put(out, static_cast<std::uint64_t>(a.cols()));
    out.append(reinterpret_cast<const char*>(a.data()), sizeof(double) * static_cast<std::size_t>(a.size()));
  }
  put(out, static_cast<std::uint64_t>(counters.size()));
  for (const auto& [name, c] : counters) {
    put_string(out, name);
    put(out, c);
  }
  return out;
}

StrategyState StrategyState::load(const std::string& bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw Error("strategy checkpoint has a wrong header (not a plast checkpoint)");
  Reader r(bytes);
  for (std::size_t i = 0; i < sizeof kMagic; ++i) r.get<char>();
  StrategyState s;
  const auto n_arrays = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n_arrays; ++i) {
    std::string name = r.get_string();
    const auto rows = r.get<std::uint64_t>(), cols = r.get<std::uint64_t>();
    if (rows > (1u << 30) || cols > (1u << 30)) throw Error("strategy checkpoint is truncated or corrupt");
    r.need(rows * cols * sizeof(double));
    Eigen::MatrixXd a(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    for (Eigen::Index k = 0; k < a.size(); ++k) a.data()[k] = r.get<double>();
    s.arrays.emplace(std::move(name), std::move(a));
  }
  const auto n_counters = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n_counters; ++i) {
    std::string name = r.get_string();
    s.counters.emplace(std::move(name), r.get<std::int64_t>());
  }
  if (!r.done()) throw Error("strategy checkpoint has trailing bytes (corrupt)");
  return s;
}

bool StrategyState::operator==(const StrategyState& other) const {
  if (counters != other.counters || arrays.size() != other.arrays.size()) return false;
  for (const auto& [name, a] : arrays) {
    const auto it = other.arrays.find(name);
    if (it == other.arrays.end() || it->second.rows() != a.rows() || it->second.cols() != a.cols()) return false;
    // Bitwise: NaN payloads and signed zeros must match too.
    if (std::memcmp(a.data(), it->second.data(), sizeof(double) * static_cast<std::size_t>(a.size())) != 0) return false;
  }
  return true;
}

}  // namespace plast
