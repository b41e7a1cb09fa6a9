#include "cli/flag_values.hpp"

#include <sstream>

#include "lib/error.hpp"

namespace plast {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  return out;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  for (const auto& part : split_commas(text)) {
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != part.size() || part.empty()) throw Error(flag + " " + text + ": '" + part + "' is not an integer");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

}  // namespace plast
