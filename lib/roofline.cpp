#include "lib/roofline.hpp"

#include <chrono>

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "lib/train.hpp"

namespace plast {

double step_gemm_flops(const MlpShape& shape, int batch) {
  return forward_flops(shape, batch) + backprop_update_flops(shape, batch);
}

StepGemms::StepGemms(const MlpShape& shape, int batch) {
  RandomStream rng(1, Purpose::probe);
  auto random = [&](Eigen::Index r, Eigen::Index c) { return uniform_matrix(r, c, rng, -1.0f, 1.0f); };
  for (int l = 0; l < shape.num_layers(); ++l) {
    w_.push_back(random(shape.sizes[l + 1], shape.sizes[l]));
    h_.push_back(random(batch, shape.sizes[l]));
    z_.emplace_back(batch, shape.sizes[l + 1]);
    dw_.emplace_back(shape.sizes[l + 1], shape.sizes[l]);
    below_.emplace_back(batch, shape.sizes[l]);
  }
  if (const FrontEnd* f = shape.front.get()) {
    chunks_ = (batch + kChunk - 1) / kChunk;
    for (int k = 0; k < f->num_convs(); ++k) {
      const auto& node = f->conv_node(k);
      const Eigen::Index rows = Eigen::Index{kChunk} * node.out.height * node.out.width;
      columns_.push_back(random(rows, f->conv_cols(k)));
      kernel_.push_back(random(f->conv_rows(k), f->conv_cols(k)));
      out_.push_back(random(rows, f->conv_rows(k)));
      dkernel_.emplace_back(f->conv_rows(k), f->conv_cols(k));
      dcolumns_.emplace_back(rows, f->conv_cols(k));
      first_.push_back(node.inputs[0] < 0);
    }
  }
}

void StepGemms::run() {
  const auto layers = static_cast<int>(w_.size());
  for (int l = 0; l < layers; ++l) z_[l].noalias() = h_[l] * w_[l].transpose();
  for (int l = layers - 1; l >= 0; --l) {
    dw_[l].noalias() = z_[l].transpose() * h_[l];
    if (l > 0 || !columns_.empty()) below_[l].noalias() = z_[l] * w_[l];
  }
  for (std::size_t k = 0; k < columns_.size(); ++k)
    for (int c = 0; c < chunks_; ++c) {
      out_[k].noalias() = columns_[k] * kernel_[k].transpose();
      dkernel_[k].noalias() = out_[k].transpose() * columns_[k];
      if (!first_[k]) dcolumns_[k].noalias() = out_[k] * kernel_[k];
    }
}

GemmProbe measure_step_gemms(const MlpShape& shape, int batch, double min_seconds) {
  StepGemms gemms(shape, batch);
  using Clock = std::chrono::steady_clock;
  GemmProbe probe;
  const auto start = Clock::now();
  do {
    gemms.run();
    ++probe.repetitions;
    probe.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } while (probe.seconds < min_seconds);
  probe.gflops = step_gemm_flops(shape, batch) * static_cast<double>(probe.repetitions) / probe.seconds * 1e-9;
  return probe;
}

TrainingProbe measure_training(const LearningRule& rule, const MlpShape& shape, int batch,
                               const OptimizerSpec& optimizer, double min_seconds) {
  // A synthetic 10-class task: random inputs and labels, 100 batches per epoch.
  Task task;
  task.name = "synthetic";
  task.input_size = shape.input_size();
  if (shape.front) task.image = shape.front->input();
  task.output_size = shape.sizes.back();
  task.loss = Loss::softmax_cross_entropy;
  task.classification = true;
  auto data = std::make_shared<Dataset>();
  const Eigen::Index n = Eigen::Index{batch} * 100;
  RandomStream rng(1, Purpose::data);
  data->x = normal_matrix(n, task.input_size, rng);
  data->y = Matrix::Zero(n, task.output_size);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.below(static_cast<std::uint64_t>(task.output_size)));
    data->labels.push_back(label);
    data->y(i, label) = 1.0f;
  }
  task.train = data;
  task.validation = std::make_shared<Dataset>();
  task.test = std::make_shared<Dataset>(*data);

  StudentSpec spec;
  spec.hidden.assign(shape.sizes.begin() + 1, shape.sizes.end() - 1);
  spec.activation = shape.hidden;
  if (shape.front)
    for (const FrontNode& node : shape.front->nodes()) {
      if (node.spec.kind == LayerKind::concat) throw Error("measure_training: a front end with concat is not a chain");
      spec.layers.push_back(node.spec);
    }
  TrainingProbe probe;
  double seconds = 0.0;
  // Whole epochs of 100 steps until enough training time has been measured.
  while (seconds < min_seconds) {
    Student s = make_student(task, spec, rule, optimizer, batch, 1);
    TrainBudget budget;
    budget.batch = batch;
    budget.epochs = 2;
    const TrainResult r = train(s, rule, task, budget);
    seconds += r.train_seconds;
    probe.steps += r.steps;
  }
  probe.samples_per_s = static_cast<double>(probe.steps) * batch / seconds;
  probe.gflops = (forward_flops(shape, batch) + rule.update_flops(shape, batch)) * static_cast<double>(probe.steps) /
                 seconds * 1e-9;
  return probe;
}

}  // namespace plast
