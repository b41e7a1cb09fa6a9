#include "lib/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>

#include "lib/error.hpp"

namespace plast {

namespace {

// The text a document was parsed from and the name it goes by in messages.
struct Document {
  std::string name;
  std::string text;
};

struct Position {
  int line = 1;    // 1-based
  int column = 1;  // 1-based
};

// yaml-cpp marks are 0-based; a null mark (the root of an empty document) reads as 1:1.
Position to_position(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string location_string(const std::string& file, Position at) {
  return file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

[[noreturn]] void throw_at(const Document& doc, Position at, const std::string& label,
                           const std::string& what) {
  std::string message = location_string(doc.name, at) + ": ";
  if (!label.empty()) message += label + ": ";
  throw Error(message + what);
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string item_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// A scalar as it appears in a one-line message: escapes line breaks, shortens long text.
std::string display(const std::string& text) {
  if (text.empty()) return "\"\"";
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  constexpr std::size_t kMax = 60;
  if (out.size() > kMax) {
    std::size_t cut = kMax - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    out = out.substr(0, cut) + "...";
  }
  return out;
}

std::string format_number(double v) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

// yaml-cpp gives a value written as nothing ("lr:" at the end of a line) the mark of the
// next token, often on a later line; only "~"/"null" written out have their own place.
bool explicit_null_at(const std::string& text, int pos) {
  if (pos < 0 || static_cast<std::size_t>(pos) >= text.size()) return false;
  std::string_view rest(text);
  rest.remove_prefix(static_cast<std::size_t>(pos));
  std::size_t length = 0;
  if (rest.starts_with("~")) {
    length = 1;
  } else if (rest.starts_with("null") || rest.starts_with("Null") || rest.starts_with("NULL")) {
    length = 4;
  } else {
    return false;
  }
  if (rest.size() == length) return true;
  char next = rest[length];
  return next == ' ' || next == '\t' || next == '\n' || next == '\r' || next == ',' ||
         next == ']' || next == '}' || next == '#';
}

// ---- strict number parsing ------------------------------------------------------------

enum class Parse { ok, not_a_number, not_finite, too_large, too_small };

// Whether a decimal literal that from_chars found out of range is too large (rather than
// too close to zero): the decimal exponent of its leading digit decides.
bool magnitude_is_large(std::string_view s) {
  std::size_t i = 0;
  long long int_digits = 0, leading_fraction_zeros = 0;
  bool nonzero = false;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    if (s[i] != '0' || nonzero) {
      nonzero = true;
      ++int_digits;
    }
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      if (nonzero) continue;
      if (s[i] == '0') ++leading_fraction_zeros;
      else nonzero = true;
    }
  }
  long long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    auto [ptr, ec] = std::from_chars(s.data() + i, s.data() + s.size(), exponent);
    (void)ptr;
    if (ec == std::errc::result_out_of_range) exponent = 1'000'000'000;
    if (negative) exponent = -exponent;
  }
  long long leading = int_digits > 0 ? int_digits - 1 : -(leading_fraction_zeros + 1);
  return leading + exponent > 0;
}

Parse parse_double(const std::string& text, double& value) {
  std::string_view s(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s[0] == '+' || s[0] == '-') return Parse::not_a_number;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == ".inf" || lower == ".nan") return Parse::not_finite;  // YAML's spellings
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range && ptr == s.data() + s.size()) {
    return magnitude_is_large(s) ? Parse::too_large : Parse::too_small;
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) return Parse::not_a_number;
  if (!std::isfinite(v)) return Parse::not_finite;
  value = negative ? -v : v;
  return Parse::ok;
}

Parse parse_int(const std::string& text, long long& value) {
  std::string_view s(text);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '-') digits.remove_prefix(1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(),
                   [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return Parse::not_a_number;
  }
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return Parse::too_large;
  if (ec != std::errc() || ptr != s.data() + s.size()) return Parse::not_a_number;
  value = v;
  return Parse::ok;
}

const char* const kIntRange =
    "must be an integer between -9223372036854775808 and 9223372036854775807";

std::string double_problem(Parse p) {
  switch (p) {
    case Parse::not_finite:
    case Parse::too_large: return "must be a finite number";
    case Parse::too_small: return "is too close to zero to be represented (write 0?)";
    default: return "must be a number";
  }
}

// "256,256" -> {"256", "256"}, entries trimmed; nullopt if an entry is empty.
std::optional<std::vector<std::string>> split_list(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    auto first = part.find_first_not_of(" \t");
    if (first == std::string::npos) return std::nullopt;
    auto last = part.find_last_not_of(" \t");
    parts.push_back(part.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

// ---- load-time checks -------------------------------------------------------------------

// yaml-cpp 0.7 accepts a quoted scalar that is never closed when a line break comes
// before the end of the input ("name: \"foo" + newline reads as "foo "), so look for the
// closing quote ourselves.
void check_quote_closed(const Document& doc, const YAML::Node& scalar) {
  const YAML::Mark mark = scalar.Mark();
  if (mark.is_null() || mark.pos < 0) return;
  const std::string& text = doc.text;
  std::size_t pos = static_cast<std::size_t>(mark.pos);
  if (pos >= text.size() || (text[pos] != '"' && text[pos] != '\'')) return;
  const char quote = text[pos];
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escape: the next character never closes the string
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single-quoted text
      } else {
        return;
      }
    }
  }
  throw Error(location_string(doc.name, to_position(mark)) +
              ": YAML syntax error: end of quoted text not found");
}

constexpr int kMaxDepth = 256;
constexpr long kMaxValues = 1'000'000;

// Rejects what yaml-cpp accepts but a configuration must not contain: duplicate keys
// (yaml-cpp keeps both and lookups would see only one), keys that are lists, maps or null,
// and aliases that recurse or expand without bound.
void check_tree(const Document& doc, const YAML::Node& node, const std::string& path,
                int depth, long& budget) {
  if (--budget < 0) {
    throw_at(doc, to_position(node.Mark()), path,
             "too many values (does an alias expand without bound?)");
  }
  if (depth > kMaxDepth) {
    throw_at(doc, to_position(node.Mark()), path, "nested too deeply (a recursive alias?)");
  }
  if (node.IsScalar()) check_quote_closed(doc, node);
  if (node.IsMap()) {
    std::vector<std::pair<std::string, Position>> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      Position key_at = to_position(it->first.Mark());
      if (!it->first.IsScalar()) {
        throw_at(doc, key_at, path, "keys must be plain names (not lists, maps or empty)");
      }
      check_quote_closed(doc, it->first);
      const std::string& key = it->first.Scalar();
      for (const auto& [name, first_at] : seen) {
        if (name == key) {
          throw_at(doc, key_at, child_path(path, key),
                   "duplicate key (first given at line " + std::to_string(first_at.line) + ")");
        }
      }
      seen.emplace_back(key, key_at);
      check_tree(doc, it->second, child_path(path, key), depth + 1, budget);
    }
  } else if (node.IsSequence()) {
    std::size_t index = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++index) {
      check_tree(doc, *it, item_path(path, index), depth + 1, budget);
    }
  }
}

std::size_t osa_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment (Levenshtein plus adjacent transpositions).
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string join(const std::vector<std::string>& words, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += separator;
    out += words[i];
  }
  return out;
}

}  // namespace

// ---- SourceLocation, Range ------------------------------------------------------------

std::string SourceLocation::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

bool Range::contains(double value) const {
  if (std::isnan(value)) return false;
  bool above = lo_open_ ? value > lo_ : value >= lo_;
  bool below = hi_open_ ? value < hi_ : value <= hi_;
  return above && below;
}

std::string Range::describe() const {
  bool has_lo = std::isfinite(lo_), has_hi = std::isfinite(hi_);
  if (has_lo && has_hi) {
    return std::string("in ") + (lo_open_ ? "(" : "[") + format_number(lo_) + ", " +
           format_number(hi_) + (hi_open_ ? ")" : "]");
  }
  if (has_lo) return (lo_open_ ? "> " : ">= ") + format_number(lo_);
  if (has_hi) return (hi_open_ ? "< " : "<= ") + format_number(hi_);
  return "";
}

// ---- ConfigNode -------------------------------------------------------------------------

struct ConfigNode::Data {
  std::shared_ptr<const Document> doc;
  YAML::Node node;
  std::string path;
  Position at;
};

ConfigNode ConfigNode::load_string(const std::string& text, const std::string& name) {
  auto doc = std::make_shared<Document>(Document{name, text});
  // yaml-cpp's marks count bytes after a byte-order mark; drop it so they index the text.
  if (doc->text.starts_with("\xEF\xBB\xBF")) doc->text.erase(0, 3);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(doc->text);
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? name : location_string(name, to_position(e.mark));
    throw Error(where + ": YAML syntax error: " + e.msg);
  }
  if (documents.size() > 1) {
    throw_at(*doc, to_position(documents[1].Mark()), "",
             "a second YAML document starts here (one document per file)");
  }
  YAML::Node root = documents.empty() ? YAML::Node() : documents[0];
  long budget = kMaxValues;
  check_tree(*doc, root, "", 0, budget);
  return ConfigNode(std::make_shared<Data>(Data{doc, root, "", to_position(root.Mark())}));
}

ConfigNode ConfigNode::load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": cannot open file (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path + ": cannot read file");
  return load_string(text.str(), path);
}

SourceLocation ConfigNode::where() const {
  return {data_->doc->name, data_->at.line, data_->at.column};
}

const std::string& ConfigNode::path() const { return data_->path; }

bool ConfigNode::is_map() const { return data_->node.IsMap(); }
bool ConfigNode::is_sequence() const { return data_->node.IsSequence(); }
bool ConfigNode::is_scalar() const { return data_->node.IsScalar(); }
bool ConfigNode::is_null() const { return data_->node.IsNull(); }

void ConfigNode::fail(const std::string& what) const {
  std::string label = data_->path;
  if (is_scalar()) label = (label.empty() ? "document" : label) + " = " + display(data_->node.Scalar());
  throw_at(*data_->doc, data_->at, label, what);
}

void ConfigNode::require_map_or_null() const {
  if (!is_map() && !is_null()) fail("must be a map");
}

std::optional<ConfigNode> ConfigNode::child(const std::string& key) const {
  require_map_or_null();
  if (is_null()) return std::nullopt;
  const YAML::Node& node = data_->node;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it->first.Scalar() != key) continue;
    YAML::Mark key_mark = it->first.Mark(), value_mark = it->second.Mark();
    // The value's own place, except where it has none of its own: nothing written after
    // the colon, or an alias (whose mark is the anchor's, earlier in the file).
    bool implicit_null =
        it->second.IsNull() && !explicit_null_at(data_->doc->text, value_mark.pos);
    bool alias = !value_mark.is_null() && !key_mark.is_null() && value_mark.pos < key_mark.pos;
    Position at = (value_mark.is_null() || implicit_null || alias) ? to_position(key_mark)
                                                                  : to_position(value_mark);
    return ConfigNode(std::make_shared<Data>(
        Data{data_->doc, it->second, child_path(data_->path, key), at}));
  }
  return std::nullopt;
}

bool ConfigNode::has(const std::string& key) const { return child(key).has_value(); }

std::optional<ConfigNode> ConfigNode::find(const std::string& key) const { return child(key); }

ConfigNode ConfigNode::at(const std::string& key) const {
  if (auto found = child(key)) return *found;
  fail("missing required key '" + key + "'");
}

std::vector<std::string> ConfigNode::keys() const {
  require_map_or_null();
  std::vector<std::string> out;
  if (is_null()) return out;
  for (auto it = data_->node.begin(); it != data_->node.end(); ++it) {
    out.push_back(it->first.Scalar());
  }
  return out;
}

void ConfigNode::expect_keys(const std::vector<std::string>& allowed) const {
  require_map_or_null();
  if (is_null()) return;
  for (auto it = data_->node.begin(); it != data_->node.end(); ++it) {
    const std::string& key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string what = "unknown key";
    std::string near = nearest(key, allowed);
    if (key == "<<") {
      what += " (YAML merge keys are not supported)";
    } else if (!near.empty()) {
      what += " (did you mean '" + near + "'?)";
    } else if (allowed.empty()) {
      what += " (no keys are allowed here)";
    } else {
      what += " (known: " + join(allowed, ", ") + ")";
    }
    throw_at(*data_->doc, to_position(it->first.Mark()), child_path(data_->path, key), what);
  }
}

std::vector<ConfigNode> ConfigNode::items() const {
  if (!is_sequence()) fail("must be a list");
  std::vector<ConfigNode> out;
  std::size_t index = 0;
  for (auto it = data_->node.begin(); it != data_->node.end(); ++it, ++index) {
    const YAML::Node& item = *it;
    YAML::Mark mark = item.Mark();
    // An item with nothing after its dash has no place of its own: use the list's.
    bool implicit_null = item.IsNull() && !explicit_null_at(data_->doc->text, mark.pos);
    Position at = (mark.is_null() || implicit_null) ? data_->at : to_position(mark);
    out.push_back(ConfigNode(
        std::make_shared<Data>(Data{data_->doc, item, item_path(data_->path, index), at})));
  }
  return out;
}

double ConfigNode::as_double(const Range& range) const {
  if (!is_scalar()) fail("must be a number");
  double value = 0;
  Parse p = parse_double(data_->node.Scalar(), value);
  if (p != Parse::ok) fail(double_problem(p));
  if (!range.contains(value)) fail("must be " + range.describe());
  return value;
}

long long ConfigNode::as_int(const Range& range) const {
  if (!is_scalar()) fail("must be an integer");
  long long value = 0;
  Parse p = parse_int(data_->node.Scalar(), value);
  if (p == Parse::too_large) fail(kIntRange);
  if (p != Parse::ok) fail("must be an integer");
  if (!range.contains(static_cast<double>(value))) fail("must be " + range.describe());
  return value;
}

bool ConfigNode::as_bool() const {
  if (is_scalar()) {
    const std::string& s = data_->node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  fail("must be true or false");
}

std::string ConfigNode::as_string() const {
  if (!is_scalar()) fail("must be a string");
  return data_->node.Scalar();
}

std::vector<long long> ConfigNode::as_int_list(const Range& range) const {
  std::vector<long long> out;
  if (is_sequence()) {
    for (const ConfigNode& item : items()) out.push_back(item.as_int(range));
    return out;
  }
  if (!is_scalar()) fail("must be a list of integers");
  auto parts = split_list(data_->node.Scalar());
  if (!parts) fail("must be a list of integers");
  for (const std::string& part : *parts) {
    long long value = 0;
    Parse p = parse_int(part, value);
    if (p == Parse::too_large) fail(std::string("each entry ") + kIntRange);
    if (p != Parse::ok) fail("must be a list of integers");
    if (!range.contains(static_cast<double>(value))) fail("each entry must be " + range.describe());
    out.push_back(value);
  }
  return out;
}

std::vector<double> ConfigNode::as_double_list(const Range& range) const {
  std::vector<double> out;
  if (is_sequence()) {
    for (const ConfigNode& item : items()) out.push_back(item.as_double(range));
    return out;
  }
  if (!is_scalar()) fail("must be a list of numbers");
  auto parts = split_list(data_->node.Scalar());
  if (!parts) fail("must be a list of numbers");
  for (const std::string& part : *parts) {
    double value = 0;
    Parse p = parse_double(part, value);
    if (p == Parse::not_a_number) fail("must be a list of numbers");
    if (p != Parse::ok) fail("each entry " + double_problem(p));
    if (!range.contains(value)) fail("each entry must be " + range.describe());
    out.push_back(value);
  }
  return out;
}

double ConfigNode::get_double(const std::string& key, double fallback, const Range& range) const {
  if (auto found = child(key)) return found->as_double(range);
  return fallback;
}

long long ConfigNode::get_int(const std::string& key, long long fallback, const Range& range) const {
  if (auto found = child(key)) return found->as_int(range);
  return fallback;
}

std::string ConfigNode::get_string(const std::string& key, const std::string& fallback) const {
  if (auto found = child(key)) return found->as_string();
  return fallback;
}

bool ConfigNode::get_bool(const std::string& key, bool fallback) const {
  if (auto found = child(key)) return found->as_bool();
  return fallback;
}

std::string ConfigNode::scalar_text() const {
  if (is_null()) return "";
  if (!is_scalar()) fail("must be a single value");
  return data_->node.Scalar();
}

std::string ConfigNode::dump() const {
  YAML::Emitter out;
  out << data_->node;
  return out.c_str();
}

// ---- nearest ----------------------------------------------------------------------------

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    std::size_t d = osa_distance(word, candidate);
    if (d >= std::max(word.size(), candidate.size())) continue;  // nothing in common
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace plast
