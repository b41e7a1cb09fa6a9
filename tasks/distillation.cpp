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

Matrix shifted_soft_targets(const Mlp& teacher, const Eigen::Ref<const Matrix>& x, const ImageJitter& jitter,
                            float temperature) {
  const int s = jitter.active() ? jitter.max_shift : 0;
  const int count = shift_count(s);
  if (s > 0 && x.cols() != jitter.features())
    throw Error("distill: the jitter's images are " + std::to_string(jitter.width) + "x" + std::to_string(jitter.height) +
                (jitter.channels == 1 ? std::string() : "x" + std::to_string(jitter.channels)) +
                " pixels, the inputs have " + std::to_string(x.cols()) + " columns");
  Matrix out(x.rows() * count, teacher.output_size());
  // Chunks of images, each moved by every shift in turn: the shifted copies of one chunk at a
  // time, never all (2s + 1)² copies of the set at once.
  constexpr Eigen::Index kChunk = 1000;
  Matrix shifted(std::min<Eigen::Index>(kChunk, x.rows()), x.cols());
  for (Eigen::Index start = 0; start < x.rows(); start += kChunk) {
    const Eigen::Index n = std::min<Eigen::Index>(kChunk, x.rows() - start);
    for (int dy = -s; dy <= s; ++dy)
      for (int dx = -s; dx <= s; ++dx) {
        shifted.topRows(n) = x.middleRows(start, n);
        for (Eigen::Index r = 0; r < n; ++r) shift_image(shifted.row(r).data(), jitter.width, jitter.height, dx, dy, jitter.fill, jitter.channels);
        const Matrix p = soft_targets(teacher, shifted.topRows(n), temperature);
        const int index = shift_index(dx, dy, s);
        for (Eigen::Index r = 0; r < n; ++r) out.row((start + r) * count + index) = p.row(r);
      }
  }
  return out;
}

void ConsistentTeaching::check(const Task& task) const {
  const Matrix& table = *shifted_targets_;
  const Dataset& data = *task.train;
  const bool active = jitter().active();
  const Eigen::Index count = shift_count(jitter().max_shift);
  if (active && table.rows() == data.size() * count && table.cols() == data.y.cols()) return;
  throw Error("task " + task.name + ": shifted_targets is " + std::to_string(table.rows()) + "x" +
              std::to_string(table.cols()) + ", " +
              (active ? std::to_string(data.size() * count) + "x" + std::to_string(data.y.cols()) +
                            " expected (a target for each of the " + std::to_string(count) +
                            " shifts of every training image)"
                      : std::string("but the task has no jitter")));
}

void ConsistentTeaching::fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed,
                              std::uint64_t step, Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const {
  // Row by row, the draws of JitteredBatches (jitter_rows draws dx, dy for row 0, then row 1, ...).
  RandomStream rng(seed, Purpose::augment, {step});
  const Eigen::Index count = shift_count(jitter().max_shift);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto i = static_cast<Eigen::Index>(r);
    x.row(i) = train.x.row(rows[r]);
    const int shift = jitter_image(x.row(i).data(), jitter(), rng);
    y.row(i) = shifted_targets_->row(rows[r] * count + shift);
  }
}

const Matrix* shifted_targets(const Task& task) {
  const auto* consistent = dynamic_cast<const ConsistentTeaching*>(task.batches.get());
  return consistent ? &consistent->shifted_targets() : nullptr;
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
  const ImageJitter* jitter = image_jitter(task);
  const bool jittered = jitter && jitter->active();
  if (jittered && static_cast<long>(jitter->width) * jitter->height != task.input_size)
    throw Error("distill: task " + task.name + " jitters " + std::to_string(jitter->width) + "x" +
                std::to_string(jitter->height) + " images: it has " + std::to_string(task.input_size) + " inputs");
  Task t = task;
  t.name = task.name + " distilled";
  t.loss = loss;
  t.train = relabel(*task.train, teacher, spec);
  if (jittered) {
    // Consistent teaching: a target for every shift of every training image (header comment).
    Matrix p = shifted_soft_targets(teacher, task.train->x, *jitter, spec.temperature);
    std::shared_ptr<const Matrix> table;
    if (spec.hard_weight > 0.0f) {
      const Eigen::Index k = teacher.output_size(), count = shift_count(jitter->max_shift);
      auto mixed = std::make_shared<Matrix>(p.rows(), 2 * k);
      mixed->leftCols(k) = p;
      for (Eigen::Index i = 0; i < task.train->size(); ++i)
        mixed->middleRows(i * count, count).rightCols(k).rowwise() = task.train->y.row(i);
      table = std::move(mixed);
    } else {
      table = std::make_shared<const Matrix>(std::move(p));
    }
    t.batches = std::make_shared<ConsistentTeaching>(*jitter, std::move(table));
  }
  if (task.validation) t.validation = relabel(*task.validation, teacher, spec);
  t.test = relabel(*task.test, teacher, spec);
  return t;
}

}  // namespace plast
