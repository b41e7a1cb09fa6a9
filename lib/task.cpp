#include "lib/task.hpp"

namespace plast {

Dataset select_rows(const Dataset& d, const std::vector<Eigen::Index>& rows) {
  Dataset out;
  out.x.resize(static_cast<Eigen::Index>(rows.size()), d.x.cols());
  out.y.resize(static_cast<Eigen::Index>(rows.size()), d.y.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.x.row(static_cast<Eigen::Index>(i)) = d.x.row(rows[i]);
    out.y.row(static_cast<Eigen::Index>(i)) = d.y.row(rows[i]);
    if (!d.labels.empty()) out.labels.push_back(d.labels[rows[i]]);
  }
  return out;
}

}  // namespace plast
