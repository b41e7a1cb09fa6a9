#include "rules/perturbation_variance.hpp"

#include <cmath>

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "rules/node_perturbation.hpp"
#include "rules/weight_perturbation.hpp"

namespace plast {
namespace {

double squared_norm(const Gradients& g) {
  double s = 0.0;
  for (std::size_t l = 0; l < g.dW.size(); ++l)
    s += g.dW[l].cast<double>().squaredNorm() + g.db[l].cast<double>().squaredNorm();
  return s;
}

double squared_distance(const Gradients& a, const Gradients& b) {
  double s = 0.0;
  for (std::size_t l = 0; l < a.dW.size(); ++l)
    s += (a.dW[l] - b.dW[l]).cast<double>().squaredNorm() + (a.db[l] - b.db[l]).cast<double>().squaredNorm();
  return s;
}

}  // namespace

std::vector<PerturbationVarianceRow> perturbation_variance(const PerturbationVarianceOptions& o) {
  if (o.samples < 1) throw InvalidValue("samples", o.samples, "must be >= 1");
  if (!(o.sigma > 0.0)) throw InvalidValue("sigma", o.sigma, "must be > 0");
  std::vector<PerturbationVarianceRow> rows;
  for (std::size_t i = 0; i < o.shapes.size(); ++i) {
    const auto [inputs, outputs] = o.shapes[i];
    if (inputs < 1 || outputs < 1)
      throw InvalidValue("shape", std::to_string(inputs) + "x" + std::to_string(outputs), "sizes must be >= 1");
    const std::uint64_t key = i;
    Mlp net(MlpShape{{inputs, outputs}, Activation::linear, Activation::linear});
    RandomStream init(o.seed, Purpose::init_weights, {key});
    net.init_glorot(init);
    // One sample x ~ N(0, I) and its target from a teacher T ~ N(0, 1/n_in).
    RandomStream data(o.seed, Purpose::data, {key});
    const Matrix x = normal_matrix(1, inputs, data);
    const Matrix teacher = normal_matrix(outputs, inputs, data) / std::sqrt(static_cast<float>(inputs));
    const Matrix y = x * teacher.transpose();
    ForwardCache cache(net.shape(), 1);
    forward(net, x, cache);
    Matrix delta(1, outputs);
    loss_and_delta(Loss::mse, Activation::linear, cache.logits(), cache.output(), y, delta);
    Gradients exact = Gradients::like(net), estimate = Gradients::like(net);
    DeltaBuffers buffers(net.shape(), 1);
    backprop_gradient(net, cache, delta, buffers, exact);
    const double norm = squared_norm(exact);

    const Eigen::Ref<const Matrix> delta_ref(delta), y_ref(y);
    const StepSignals signals{net, cache, delta_ref, y_ref, 0, Loss::mse};
    auto relative_mse = [&](const LearningRule& rule, std::uint64_t which) {
      auto state = rule.make_state(net, 1, RandomStream(o.seed, Purpose::perturbation, {key, which}));
      double sum = 0.0;
      for (int k = 0; k < o.samples; ++k) {
        rule.compute_update(signals, *state, estimate);
        sum += squared_distance(estimate, exact);
      }
      return sum / o.samples / norm;
    };
    PerturbationVarianceRow row;
    row.inputs = inputs;
    row.outputs = outputs;
    row.parameters = net.num_parameters();
    row.units = outputs;
    const auto sigma = static_cast<float>(o.sigma);
    row.weight_perturbation = relative_mse(WeightPerturbation(sigma, false), 0);
    row.weight_perturbation_antithetic = relative_mse(WeightPerturbation(sigma, true), 1);
    row.node_perturbation = relative_mse(NodePerturbation(sigma), 2);
    rows.push_back(row);
  }
  return rows;
}

double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) throw Error("loglog_slope: needs two or more (x, y) pairs of equal count");
  double mx = 0.0, my = 0.0;
  const auto n = static_cast<double>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += std::log(x[i]) / n;
    my += std::log(y[i]) / n;
  }
  double sxy = 0.0, sxx = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (std::log(x[i]) - mx) * (std::log(y[i]) - my);
    sxx += (std::log(x[i]) - mx) * (std::log(x[i]) - mx);
  }
  if (sxx == 0.0) throw Error("loglog_slope: every x is the same");
  return sxy / sxx;
}

}  // namespace plast
