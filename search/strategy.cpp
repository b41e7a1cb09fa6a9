#include "search/strategy.hpp"

#include <cstring>
#include <map>

#include "lib/error.hpp"

namespace plast {
namespace {

// Version 01 was a string-keyed map of arrays and counters; 02 is the typed field list.
constexpr char kMagic[8] = {'P', 'L', 'S', 'T', 'S', 'T', '0', '2'};
constexpr std::size_t kVersionAt = 6;   // "PLSTST" then two version digits

// Type tags of the fields.
constexpr char kDouble = 'd', kInt = 'i', kVector = 'v', kMatrix = 'm';

// Dimensions beyond this are corruption, not a state (and would overflow rows·cols·8).
constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 30;

void put_word(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

void put_doubles(std::string& out, const double* data, Eigen::Index n) {
  out.append(reinterpret_cast<const char*>(data), sizeof(double) * static_cast<std::size_t>(n));
}

std::string type_name(char type) {
  switch (type) {
    case kDouble: return "double";
    case kInt: return "integer";
    case kVector: return "vector";
    case kMatrix: return "matrix";
  }
  return "unknown";
}

}  // namespace

// ---- StateWriter ----

StateWriter::StateWriter(const std::string& strategy) : out_(kMagic, sizeof kMagic) {
  put_word(out_, strategy.size());
  out_ += strategy;
}

void StateWriter::header(const char* name, char type) {
  const std::size_t len = std::strlen(name);
  put_word(out_, len);
  out_.append(name, len);
  out_ += type;
}

void StateWriter::field(const char* name, double v) {
  header(name, kDouble);
  put_doubles(out_, &v, 1);
}

void StateWriter::field(const char* name, std::int64_t v) {
  header(name, kInt);
  put_word(out_, static_cast<std::uint64_t>(v));
}

void StateWriter::field(const char* name, const Eigen::VectorXd& v) {
  header(name, kVector);
  put_word(out_, static_cast<std::uint64_t>(v.size()));
  put_doubles(out_, v.data(), v.size());
}

void StateWriter::field(const char* name, const Eigen::MatrixXd& m) {
  header(name, kMatrix);
  put_word(out_, static_cast<std::uint64_t>(m.rows()));
  put_word(out_, static_cast<std::uint64_t>(m.cols()));
  put_doubles(out_, m.data(), m.size());
}

// ---- StateReader ----

StateReader::StateReader(const std::string& bytes, const std::string& strategy) : bytes_(bytes), strategy_(strategy) {
  const std::size_t head = std::min(bytes.size(), sizeof kMagic);
  if (std::memcmp(bytes.data(), kMagic, std::min(head, kVersionAt)) != 0)
    throw Error("strategy checkpoint has a wrong header (not a plast checkpoint)");
  if (head == sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw Error("strategy checkpoint has format version " + bytes.substr(kVersionAt, 2) +
                "; this plast reads 01 and 02");
  need(sizeof kMagic);
  pos_ = sizeof kMagic;
  const std::uint64_t len = word();
  need(len);
  const std::string stored = bytes_.substr(pos_, len);
  pos_ += len;
  if (stored != strategy)
    throw Error("strategy checkpoint holds the state of " + stored + ", not of " + strategy);
}

std::uint64_t StateReader::word() {
  need(sizeof(std::uint64_t));
  std::uint64_t v = 0;
  std::memcpy(&v, bytes_.data() + pos_, sizeof v);
  pos_ += sizeof v;
  return v;
}

void StateReader::need(std::uint64_t n) const {
  if (n > bytes_.size() - std::min(pos_, bytes_.size()))
    throw Error("strategy checkpoint of " + strategy_ + " is truncated or corrupt");
}

void StateReader::corrupt(const std::string& what) const {
  throw Error("strategy checkpoint of " + strategy_ + " is corrupt: " + what);
}

// The next field must be `name` of `type`: a checkpoint from another layout of the state is
// refused by name rather than read as the wrong numbers.
void StateReader::expect(const char* name, char type) {
  const std::uint64_t len = word();
  need(len);
  need(len + 1);   // after need(len), len + 1 cannot overflow
  const std::string stored = bytes_.substr(pos_, len);
  const char stored_type = bytes_[pos_ + len];
  pos_ += len + 1;
  if (stored != name || stored_type != type)
    corrupt("expected the " + type_name(type) + " '" + name + "', found the " + type_name(stored_type) + " '" +
            stored + "'");
}

void StateReader::field(const char* name, double& v) {
  expect(name, kDouble);
  need(sizeof v);
  std::memcpy(&v, bytes_.data() + pos_, sizeof v);
  pos_ += sizeof v;
}

void StateReader::field(const char* name, std::int64_t& v) {
  expect(name, kInt);
  v = static_cast<std::int64_t>(word());
}

void StateReader::field(const char* name, Eigen::VectorXd& v) {
  expect(name, kVector);
  const std::uint64_t n = word();
  if (n > kMaxDim) corrupt("'" + std::string(name) + "' has " + std::to_string(n) + " entries");
  need(n * sizeof(double));
  v.resize(static_cast<Eigen::Index>(n));
  std::memcpy(v.data(), bytes_.data() + pos_, n * sizeof(double));
  pos_ += n * sizeof(double);
}

void StateReader::field(const char* name, Eigen::MatrixXd& m) {
  expect(name, kMatrix);
  const std::uint64_t rows = word(), cols = word();
  if (rows > kMaxDim || cols > kMaxDim)
    corrupt("'" + std::string(name) + "' is " + std::to_string(rows) + "×" + std::to_string(cols));
  need(rows * cols * sizeof(double));
  m.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  std::memcpy(m.data(), bytes_.data() + pos_, rows * cols * sizeof(double));
  pos_ += rows * cols * sizeof(double);
}

void StateReader::finish() const {
  if (pos_ != bytes_.size()) corrupt("trailing bytes after the last field");
}

// ---- LegacyStateReader (format 01) ----

namespace {
constexpr char kMagic01[8] = {'P', 'L', 'S', 'T', 'S', 'T', '0', '1'};
}  // namespace

struct LegacyStateReader::Maps {
  std::map<std::string, Eigen::MatrixXd> arrays;
  std::map<std::string, std::int64_t> counters;
  std::map<std::string, bool> used;
};

bool LegacyStateReader::is_legacy(const std::string& bytes) {
  return bytes.size() >= sizeof kMagic01 && std::memcmp(bytes.data(), kMagic01, sizeof kMagic01) == 0;
}

// Format 01: magic · #arrays · (name, rows, cols, doubles)… · #counters · (name, int64)….
LegacyStateReader::LegacyStateReader(const std::string& bytes, const std::string& strategy)
    : maps_(std::make_unique<Maps>()), strategy_(strategy) {
  std::size_t pos = sizeof kMagic01;
  auto need = [&](std::uint64_t n) {
    if (n > bytes.size() - pos) throw Error("strategy checkpoint of " + strategy_ + " is truncated or corrupt");
  };
  auto word = [&] {
    need(sizeof(std::uint64_t));
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + pos, sizeof v);
    pos += sizeof v;
    return v;
  };
  auto text = [&] {
    const std::uint64_t n = word();
    need(n);
    std::string t = bytes.substr(pos, n);
    pos += n;
    return t;
  };
  for (std::uint64_t i = 0, count = word(); i < count; ++i) {
    std::string name = text();
    const std::uint64_t rows = word(), cols = word();
    if (rows > kMaxDim || cols > kMaxDim) corrupt("'" + name + "' is " + std::to_string(rows) + "×" + std::to_string(cols));
    need(rows * cols * sizeof(double));
    Eigen::MatrixXd a(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    std::memcpy(a.data(), bytes.data() + pos, rows * cols * sizeof(double));
    pos += rows * cols * sizeof(double);
    maps_->arrays[name] = std::move(a);
  }
  for (std::uint64_t i = 0, count = word(); i < count; ++i) {
    std::string name = text();
    maps_->counters[name] = static_cast<std::int64_t>(word());
  }
  if (pos != bytes.size()) corrupt("trailing bytes after the last field");
}

LegacyStateReader::~LegacyStateReader() = default;

void LegacyStateReader::corrupt(const std::string& what) const {
  throw Error("strategy checkpoint of " + strategy_ + " is corrupt: " + what + " (format 01)");
}

const Eigen::MatrixXd* LegacyStateReader::array(const char* name, bool optional) {
  const auto it = maps_->arrays.find(name);
  if (it == maps_->arrays.end()) {
    if (!optional) corrupt("no array '" + std::string(name) + "'");
    return nullptr;
  }
  maps_->used[name] = true;
  return &it->second;
}

void LegacyStateReader::field(const char* name, double& v, bool optional) {
  if (const Eigen::MatrixXd* a = array(name, optional)) {
    if (a->size() != 1) corrupt("'" + std::string(name) + "' is not a scalar");
    v = (*a)(0, 0);
  }
}

void LegacyStateReader::field(const char* name, std::int64_t& v, bool optional) {
  const auto it = maps_->counters.find(name);
  if (it == maps_->counters.end()) {
    if (!optional) corrupt("no counter '" + std::string(name) + "'");
    return;
  }
  maps_->used[name] = true;
  v = it->second;
}

void LegacyStateReader::field(const char* name, Eigen::VectorXd& v, bool optional) {
  if (const Eigen::MatrixXd* a = array(name, optional)) {
    if (a->cols() != 1) corrupt("'" + std::string(name) + "' is not a column");
    v = a->col(0);
  }
}

void LegacyStateReader::field(const char* name, Eigen::MatrixXd& m, bool optional) {
  if (const Eigen::MatrixXd* a = array(name, optional)) m = *a;
}

void LegacyStateReader::finish() const {
  for (const auto& [name, a] : maps_->arrays)
    if (!maps_->used.count(name)) corrupt("unknown array '" + name + "'");
  for (const auto& [name, c] : maps_->counters)
    if (!maps_->used.count(name)) corrupt("unknown counter '" + name + "'");
}

// ---- StrategyState ----

std::string StrategyState::save() const {
  if (empty()) throw Error("an empty strategy state cannot be saved (neither init() nor load() made it)");
  StateWriter w(strategy_);
  held_->write(w);
  return std::move(w).bytes();
}

bool StrategyState::operator==(const StrategyState& other) const {
  if (empty() || other.empty()) return empty() == other.empty();
  return save() == other.save();
}

void StrategyState::wrong_type(const char* type) const {
  if (empty()) throw Error("the strategy state is empty (neither init() nor load() made it)");
  throw Error("the strategy state of " + strategy_ + " does not hold a " + type);
}

void StrategyState::wrong_strategy(const std::string& strategy) const {
  throw Error(strategy + ": given a state of " + (empty() ? std::string("nothing (empty)") : strategy_));
}

}  // namespace plast
