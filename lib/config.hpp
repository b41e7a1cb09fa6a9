#pragma once
// YAML configuration that remembers where every value was written. All plast
// configuration (train configs, studies, rule and task parameters) is read through
// ConfigNode, so that bad input is reported as one line that names the place, the key
// and what is wrong (DESIGN.md, "Contracts: Errors"):
//
//   studies/x.yaml:12:14: strategy.sigma = -1: must be > 0
//
// Reading is strict: unknown keys are errors (with the nearest valid key suggested),
// numbers must be numbers ("1.5abc", "nan" and "1e999" are rejected), integers must be
// integers, duplicate keys and multi-document files are rejected at load time, and a
// key written without a value ("lr:") is not silently replaced by a default.
// An empty section ("optimizer:" with nothing under it) reads as an empty map, so that
// every key of the section takes its default.
//
// Typical use:
//   auto cfg = ConfigNode::load_file(path);
//   cfg.expect_keys({"seed", "optimizer"});
//   auto opt = cfg.at("optimizer");
//   opt.expect_keys({"lr", "momentum"});
//   double lr = opt.get_double("lr", 1e-3, Range::positive());
//   double mu = opt.get_double("momentum", 0.0, Range::half_open(0, 1));
//   if (...) opt.at("lr").fail("must be smaller than max_lr");
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plast {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string str() const;  // "file:line:column"
};

// An interval a number must lie in; conversions take one and report "must be > 0",
// "must be >= 2", "must be in [0, 1)", ... at the value's location.
// Default-constructed: any (finite) number.
class Range {
 public:
  Range() = default;
  static Range positive() { return {0, kInf, true, false}; }         // > 0
  static Range non_negative() { return {0, kInf, false, false}; }    // >= 0
  static Range at_least(double lo) { return {lo, kInf, false, false}; }   // >= lo
  static Range at_most(double hi) { return {-kInf, hi, false, false}; }   // <= hi
  static Range closed(double lo, double hi) { return {lo, hi, false, false}; }    // [lo, hi]
  static Range half_open(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)
  static Range open(double lo, double hi) { return {lo, hi, true, true}; }        // (lo, hi)

  bool contains(double value) const;
  // "> 0", ">= 2", "<= 1", "in [0, 1)"; "" for the unbounded range.
  std::string describe() const;

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  Range(double lo, double hi, bool lo_open, bool hi_open)
      : lo_(lo), hi_(hi), lo_open_(lo_open), hi_open_(hi_open) {}
  double lo_ = -kInf;
  double hi_ = kInf;
  bool lo_open_ = false;
  bool hi_open_ = false;
};

// One node of a loaded YAML document, with its location and its dotted key path.
// Cheap to copy (the document is shared). Every failure throws plast::Error with a
// one-line message "FILE:LINE:COL: PATH = VALUE: what" (scalars) or
// "FILE:LINE:COL: PATH: what" (anything else; the root has no "PATH: " part).
class ConfigNode {
 public:
  // Missing file: "PATH: cannot open file"; YAML syntax: "PATH:L:C: YAML syntax error: MSG".
  // Also rejects duplicate keys, keys that are not plain scalars and multiple documents.
  static ConfigNode load_file(const std::string& path);
  // `name` stands in for the file name in messages.
  static ConfigNode load_string(const std::string& text, const std::string& name);

  SourceLocation where() const;
  // Dotted key path: "optimizer.lr", "network.hidden[1]"; "" for the root.
  const std::string& path() const;

  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;
  bool is_null() const;  // "~", "null" or nothing written

  // Map access. A null node acts as an empty map; any other non-map fails
  // with "must be a map" (so a scalar where a section belongs never passes silently).
  bool has(const std::string& key) const;
  // Missing: "FILE:L:C: PATH: missing required key 'KEY'" (at this map's location).
  ConfigNode at(const std::string& key) const;
  std::optional<ConfigNode> find(const std::string& key) const;
  std::vector<std::string> keys() const;  // in file order
  // The first key not in `allowed`, at the key's own location:
  // "FILE:L:C: PATH.KEY: unknown key (did you mean 'NEAR'?)", or without a close
  // match "...: unknown key (known: a, b, c)".
  void expect_keys(const std::vector<std::string>& allowed) const;

  // Sequence elements, with paths "x[0]", "x[1]", ...; anything else: "must be a list".
  std::vector<ConfigNode> items() const;

  // Conversions. Wrong type: "must be a number" / "must be an integer" /
  // "must be true or false" / "must be a string"; outside `range`: "must be > 0" etc.
  // Doubles must be finite ("must be a finite number"); integers must fit in 64 bits.
  double as_double(const Range& range = {}) const;
  long long as_int(const Range& range = {}) const;
  bool as_bool() const;  // true/false (also True/TRUE/False/FALSE)
  std::string as_string() const;  // any scalar, as text
  // A YAML sequence [256, 256] or a scalar "256,256" (or "256"); each entry in `range`.
  std::vector<long long> as_int_list(const Range& range = {}) const;
  std::vector<double> as_double_list(const Range& range = {}) const;

  // The value of `key` if present, else `fallback` (which is not checked).
  // A key that is present but has no value ("lr:") is an error, not the fallback.
  double get_double(const std::string& key, double fallback, const Range& range = {}) const;
  long long get_int(const std::string& key, long long fallback, const Range& range = {}) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;

  // The scalar's text (quotes removed); "" for null; maps and lists: "must be a single value".
  std::string scalar_text() const;
  // This node as YAML text (comments dropped), e.g. to store a resolved study.
  std::string dump() const;

  // Throws plast::Error("FILE:L:C: PATH = VALUE: what") for scalars,
  // ("FILE:L:C: PATH: what") otherwise.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  struct Data;  // the YAML node, its document, path and location (config.cpp)
  explicit ConfigNode(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::optional<ConfigNode> child(const std::string& key) const;
  void require_map_or_null() const;

  std::shared_ptr<const Data> data_;
};

// The candidate closest to `word` by edit distance (Damerau: an adjacent swap counts
// as one edit), or "" when none is close: the distance must be at most
// max(2, word.size() / 3) and smaller than the longer of the two words (so "lr" is not
// "close" to "mu"). Ties go to the first candidate.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace plast
