#include "tasks/teachers.hpp"

#include "lib/mlp.hpp"
#include "lib/random_matrix.hpp"

namespace plast {
namespace {

std::uint64_t split_index(Split s) { return s == Split::meta_train ? 0 : 1; }

// n samples of x ~ N(0, I) from the stream of (seed, data, index, split, part).
Matrix gaussian_inputs(long n, int dims, std::uint64_t seed, std::uint64_t index, Split split, std::uint64_t part) {
  RandomStream rng(seed, Purpose::data, {index, split_index(split), part});
  return normal_matrix(n, dims, rng);
}

Task regression_task(std::string name, int in, int out, std::vector<int> hidden, Activation act) {
  Task t;
  t.name = std::move(name);
  t.input_size = in;
  t.output_size = out;
  t.loss = Loss::mse;
  t.output_activation = Activation::linear;
  t.classification = false;
  t.default_hidden = std::move(hidden);
  t.default_activation = act;
  return t;
}

}  // namespace

std::vector<ParamSpec> LinearTeacher::params() {
  return {
      {"inputs", 30, 1, 100000, "input dimension n_in", true},
      {"outputs", 10, 1, 100000, "output dimension n_out", true},
      {"train_size", 20000, 1, 1e8, "training samples", true},
      {"test_size", 2000, 1, 1e8, "test samples", true},
  };
}

LinearTeacher::LinearTeacher(const ParamValues& p)
    : inputs_(static_cast<int>(p.at("inputs"))), outputs_(static_cast<int>(p.at("outputs"))),
      train_size_(static_cast<long>(p.at("train_size"))), test_size_(static_cast<long>(p.at("test_size"))) {}

Task LinearTeacher::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  RandomStream rng(seed, Purpose::task, {index, split_index(split)});
  const Matrix teacher = uniform_matrix(outputs_, inputs_, rng, -1.0f, 1.0f);
  Task t = regression_task("linear_teacher", inputs_, outputs_, {20}, Activation::linear);
  auto make = [&](long n, std::uint64_t part) {
    auto d = std::make_shared<Dataset>();
    d->x = gaussian_inputs(n, inputs_, seed, index, split, part);
    d->y.noalias() = d->x * teacher.transpose();
    return d;
  };
  t.train = make(train_size_, 0);
  t.validation = std::make_shared<Dataset>();
  t.test = make(test_size_, 1);
  return t;
}

std::vector<ParamSpec> MlpTeacher::params() {
  return {
      {"inputs", 20, 1, 100000, "input dimension", true},
      {"outputs", 5, 1, 100000, "output dimension", true},
      {"teacher_width", 20, 1, 100000, "width of each hidden layer of the teacher", true},
      {"teacher_depth", 1, 1, 16, "number of hidden tanh layers of the teacher", true},
      {"gain", 1.5, 0.0, 100.0, "teacher weights ~ gain·Glorot-uniform"},
      {"noise", 0.0, 0.0, 100.0, "standard deviation of Gaussian noise on training targets"},
      {"train_size", 20000, 1, 1e8, "training samples", true},
      {"test_size", 2000, 1, 1e8, "test samples", true},
  };
}

MlpTeacher::MlpTeacher(const ParamValues& p)
    : inputs_(static_cast<int>(p.at("inputs"))), outputs_(static_cast<int>(p.at("outputs"))),
      teacher_width_(static_cast<int>(p.at("teacher_width"))), teacher_depth_(static_cast<int>(p.at("teacher_depth"))),
      gain_(static_cast<float>(p.at("gain"))), noise_(static_cast<float>(p.at("noise"))),
      train_size_(static_cast<long>(p.at("train_size"))), test_size_(static_cast<long>(p.at("test_size"))) {}

Mlp MlpTeacher::teacher(std::uint64_t seed, std::uint64_t index, Split split) const {
  MlpShape shape;
  shape.sizes.push_back(inputs_);
  for (int l = 0; l < teacher_depth_; ++l) shape.sizes.push_back(teacher_width_);
  shape.sizes.push_back(outputs_);
  shape.hidden = Activation::tanh;
  shape.output = Activation::linear;
  Mlp net(shape);
  RandomStream rng(seed, Purpose::task, {index, split_index(split)});
  net.init_glorot(rng, gain_);
  return net;
}

Task MlpTeacher::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  return teacher_task("mlp_teacher", teacher(seed, index, split), seed, index, split, train_size_, test_size_, noise_,
                      {teacher_width_ * 2}, Activation::tanh);
}

Task teacher_task(std::string name, const Mlp& teacher, std::uint64_t seed, std::uint64_t index, Split split,
                  long train_size, long test_size, float noise, std::vector<int> default_hidden,
                  Activation default_activation) {
  Task t = regression_task(std::move(name), teacher.input_size(), teacher.output_size(), std::move(default_hidden),
                           default_activation);
  auto make = [&](long n, std::uint64_t part, float sigma) {
    auto d = std::make_shared<Dataset>();
    d->x = gaussian_inputs(n, teacher.input_size(), seed, index, split, part);
    ForwardCache cache(teacher.shape(), static_cast<int>(n));
    forward(teacher, d->x, cache);
    d->y = cache.output();
    if (sigma > 0.0f) {
      RandomStream noise_rng(seed, Purpose::data, {index, split_index(split), part, 1});
      for (Eigen::Index i = 0; i < d->y.size(); ++i) d->y.data()[i] += sigma * noise_rng.normal();
    }
    return d;
  };
  t.train = make(train_size, 0, noise);
  t.validation = std::make_shared<Dataset>();
  t.test = make(test_size, 1, 0.0f);
  return t;
}

}  // namespace plast
