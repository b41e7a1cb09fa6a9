#include "tasks/distillation.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "lib/error.hpp"
#include "lib/weights_file.hpp"

namespace plast {

std::shared_ptr<const Mlp> load_teacher(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Mlp>> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  auto net = std::make_shared<const Mlp>(load_weights(path));
  cache.emplace(path, net);
  return net;
}

Matrix soft_targets(const Mlp& teacher, const Eigen::Ref<const Matrix>& x, float temperature) {
  constexpr int kChunk = 1000;
  Matrix p(x.rows(), teacher.output_size());
  ForwardCache cache(teacher.shape(), kChunk);
  for (Eigen::Index start = 0; start < x.rows(); start += kChunk) {
    const Eigen::Index n = std::min<Eigen::Index>(kChunk, x.rows() - start);
    forward(teacher, x.middleRows(start, n), cache);
    const auto z = cache.logits();
    for (Eigen::Index r = 0; r < n; ++r) {
      // softmax(z/T) in double, shifted by the row's maximum.
      const double max = z.row(r).maxCoeff();
      double sum = 0.0;
      for (Eigen::Index k = 0; k < z.cols(); ++k) sum += std::exp((z(r, k) - max) / temperature);
      for (Eigen::Index k = 0; k < z.cols(); ++k)
        p(start + r, k) = static_cast<float>(std::exp((z(r, k) - max) / temperature) / sum);
    }
  }
  return p;
}

namespace {

std::shared_ptr<const Dataset> relabel(const Dataset& d, const Mlp& teacher, const DistillationSpec& spec) {
  auto out = std::make_shared<Dataset>();
  out->x = d.x;
  out->labels = d.labels;
  const Eigen::Index k = teacher.output_size();
  const Matrix p = soft_targets(teacher, d.x, spec.temperature);
  if (spec.hard_weight > 0.0f) {
    out->y.resize(d.size(), 2 * k);
    out->y.leftCols(k) = p;
    out->y.rightCols(k) = d.y;
  } else {
    out->y = p;
  }
  return out;
}

}  // namespace

Task distill(const Task& task, const Mlp& teacher, const DistillationSpec& spec) {
  const Loss loss = Loss::soft_targets(spec.temperature, spec.hard_weight);   // checks T and α
  if (!task.classification || task.loss != Loss::softmax_cross_entropy || !task.train)
    throw Error("distill: task " + task.name + " is not a softmax cross-entropy classification task");
  if (teacher.input_size() != task.input_size || teacher.output_size() != task.output_size)
    throw Error("distill: teacher " + spec.teacher + " is " + teacher.shape().str() + ": task " + task.name + " has " +
                std::to_string(task.input_size) + " inputs and " + std::to_string(task.output_size) + " classes");
  // The soft targets are computed once, on the unshifted training images: a jittered student
  // would be trained towards the teacher's answer for an image it is not shown.
  if (task.jitter.active())
    throw Error("distill: task " + task.name + " has jitter = " + std::to_string(task.jitter.max_shift) +
                ": the teacher's soft targets are computed once, on the unshifted images (give the student no jitter)");
  Task t = task;
  t.name = task.name + " distilled";
  t.loss = loss;
  t.train = relabel(*task.train, teacher, spec);
  if (task.validation) t.validation = relabel(*task.validation, teacher, spec);
  t.test = relabel(*task.test, teacher, spec);
  return t;
}

}  // namespace plast
