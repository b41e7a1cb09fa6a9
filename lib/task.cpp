#include "lib/task.hpp"

#include <algorithm>

#include "lib/mlp.hpp"

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

void copy_rows(const Dataset& d, std::span<const Eigen::Index> rows, Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) {
  for (std::size_t r = 0; r < rows.size(); ++r) {
    x.row(static_cast<Eigen::Index>(r)) = d.x.row(rows[r]);
    y.row(static_cast<Eigen::Index>(r)) = d.y.row(rows[r]);
  }
}

void fill_batch(const Task& task, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
                Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) {
  if (task.batches)
    task.batches->fill(*task.train, rows, seed, step, x, y);
  else
    copy_rows(*task.train, rows, x, y);
}

Evaluation score_outputs(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache) {
  Evaluation e;
  if (data.empty()) return e;
  double loss = 0.0;
  long correct = 0;
  for (Eigen::Index start = 0; start < data.size(); start += cache.capacity()) {
    const Eigen::Index n = std::min<Eigen::Index>(cache.capacity(), data.size() - start);
    forward(net, data.x.middleRows(start, n), cache);
    loss += loss_value(task.loss, cache.logits(), cache.output(), data.y.middleRows(start, n)) * static_cast<double>(n);
    if (task.classification) correct += count_correct(cache.logits(), data.labels.data() + start);
  }
  e.loss = loss / static_cast<double>(data.size());
  e.accuracy = task.classification ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0.0;
  return e;
}

Evaluation evaluate(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache) {
  return task.scorer ? task.scorer->score(net, task, data, cache) : score_outputs(net, task, data, cache);
}

}  // namespace plast
