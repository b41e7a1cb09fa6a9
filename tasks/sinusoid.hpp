#pragma once
// Few-shot sinusoid regression (Finn, Abbeel & Levine 2017, "Model-Agnostic Meta-Learning for
// Fast Adaptation of Deep Networks", ICML, section 5.1): each task is y = A sin(x − φ) with
// amplitude A ~ U[0.1, 5] and phase φ ~ U[0, π]; inputs x ~ U[−5, 5]. The training set holds
// K = `shots` points (the K-shot adaptation set; train at batch K so that one epoch is one
// inner step), the test set `test_size` fresh points of the same wave. The paper's student is
// a 1-40-40-1 ReLU network with squared loss, the default here.
//
// Loss scale: plast's mse is ½·(squared error) (lib/loss.hpp), so the mean squared error that
// MAML reports is twice the test loss.
//
// Meta-train and meta-test tasks come from disjoint streams: amplitude and phase are drawn from
// (seed, Purpose::task, {index, split}) and the points from (seed, Purpose::data, {index,
// split, part}). The ranges are parameters (a held-out range of amplitudes is a study away).
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class Sinusoid final : public TaskFamily {
 public:
  explicit Sinusoid(const ParamValues& params);   // throws InvalidValue when a range is reversed
  std::string name() const override { return "sinusoid"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

  struct Wave {
    double amplitude = 0.0;
    double phase = 0.0;
  };
  // The wave of task (seed, index, split).
  Wave wave(std::uint64_t seed, std::uint64_t index, Split split) const;

 private:
  long shots_, test_size_;
  double amplitude_min_, amplitude_max_, phase_min_, phase_max_, input_min_, input_max_;
};

}  // namespace plast
