#pragma once
// Parsing comma-separated flag values (--rule a,b --hidden 256,256 --seed 1,2,3), with one
// clear line for a malformed entry.
#include <string>
#include <vector>

namespace plast {

std::vector<std::string> split_commas(const std::string& text);
// "256,256" -> {256, 256}; throws "FLAG TEXT: 'x' is not an integer".
std::vector<int> parse_int_list(const std::string& text, const std::string& flag);

}  // namespace plast
