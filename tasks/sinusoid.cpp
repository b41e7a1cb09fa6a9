#include "tasks/sinusoid.hpp"

#include <cmath>
#include <numbers>
#include <sstream>
#include <string>

#include "lib/error.hpp"
#include "lib/random.hpp"

namespace plast {
namespace {

std::uint64_t split_index(Split s) { return s == Split::meta_train ? 0 : 1; }

}  // namespace

std::vector<ParamSpec> Sinusoid::params() {
  return {
      {"shots", 10, 1, 1e6, "K: training points per task (the K-shot adaptation set)", true},
      {"test_size", 100, 1, 1e8, "test points per task", true},
      {"amplitude_min", 0.1, 0.0, 1000.0, "amplitude A ~ U[amplitude_min, amplitude_max]"},
      {"amplitude_max", 5.0, 0.0, 1000.0, "upper end of the amplitude range"},
      {"phase_min", 0.0, -100.0, 100.0, "phase φ ~ U[phase_min, phase_max], y = A sin(x − φ)"},
      {"phase_max", std::numbers::pi, -100.0, 100.0, "upper end of the phase range"},
      {"input_min", -5.0, -1000.0, 1000.0, "inputs x ~ U[input_min, input_max]"},
      {"input_max", 5.0, -1000.0, 1000.0, "upper end of the input range"},
  };
}

Sinusoid::Sinusoid(const ParamValues& p)
    : shots_(static_cast<long>(p.at("shots"))), test_size_(static_cast<long>(p.at("test_size"))),
      amplitude_min_(p.at("amplitude_min")), amplitude_max_(p.at("amplitude_max")), phase_min_(p.at("phase_min")),
      phase_max_(p.at("phase_max")), input_min_(p.at("input_min")), input_max_(p.at("input_max")) {
  auto ordered = [](const char* key, double lo, double hi, const char* lo_key) {
    if (hi < lo) {
      std::ostringstream bound;
      bound << lo;
      throw InvalidValue(key, hi, std::string("must be >= ") + lo_key + " (" + bound.str() + ")");
    }
  };
  ordered("amplitude_max", amplitude_min_, amplitude_max_, "amplitude_min");
  ordered("phase_max", phase_min_, phase_max_, "phase_min");
  ordered("input_max", input_min_, input_max_, "input_min");
}

Sinusoid::Wave Sinusoid::wave(std::uint64_t seed, std::uint64_t index, Split split) const {
  RandomStream rng(seed, Purpose::task, {index, split_index(split)});
  Wave w;
  w.amplitude = amplitude_min_ + (amplitude_max_ - amplitude_min_) * rng.uniform_double();
  w.phase = phase_min_ + (phase_max_ - phase_min_) * rng.uniform_double();
  return w;
}

Task Sinusoid::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  const Wave w = wave(seed, index, split);
  auto make = [&](long n, std::uint64_t part) {
    RandomStream rng(seed, Purpose::data, {index, split_index(split), part});
    auto d = std::make_shared<Dataset>();
    d->x.resize(n, 1);
    d->y.resize(n, 1);
    for (long i = 0; i < n; ++i) {
      // y from the stored (float) x, so that the dataset is exactly a sampled wave.
      d->x(i, 0) = static_cast<float>(input_min_ + (input_max_ - input_min_) * rng.uniform_double());
      d->y(i, 0) = static_cast<float>(w.amplitude * std::sin(static_cast<double>(d->x(i, 0)) - w.phase));
    }
    return d;
  };
  Task t;
  t.name = "sinusoid";
  t.input_size = 1;
  t.output_size = 1;
  t.loss = Loss::mse;
  t.output_activation = Activation::linear;
  t.classification = false;
  t.default_hidden = {40, 40};
  t.default_activation = Activation::relu;
  t.train = make(shots_, 0);
  t.validation = std::make_shared<Dataset>();
  t.test = make(test_size_, 1);
  return t;
}

}  // namespace plast
