#pragma once
// JSON values shared by the commands that end with one JSON object.
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

namespace plast {

// JSON has no inf/NaN: a diverged or missing value is reported as null.
inline nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// {"name": value, ...} for θ's coordinates.
inline nlohmann::json params_json(const std::vector<std::string>& names, const Eigen::VectorXd& theta) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t k = 0; k < names.size() && static_cast<Eigen::Index>(k) < theta.size(); ++k)
    j[names[k]] = theta(static_cast<Eigen::Index>(k));
  return j;
}

}  // namespace plast
