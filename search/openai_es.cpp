#include "search/openai_es.hpp"

#include <algorithm>
#include <cmath>

#include "lib/error.hpp"
#include "search/fitness_shaping.hpp"
#include "search/nes.hpp"

namespace plast {

const std::vector<ParamSpec>& OpenAiEsOptions::specs() {
  static const std::vector<ParamSpec> s = {
      {"sigma", 0.02, 1e-12, 1e12, "noise standard deviation σ at generation 0 (Salimans et al. 2017 use 0.02)"},
      {"lr", 0.01, 0.0, 1e6, "learning rate of the optimizer on the mean"},
      {"population", 0, 2, 1e6, "λ, even (antithetic pairs); left out: smallest even number >= 4 + floor(3 ln n)", true, true},
      {"optimizer", 2, 0, 2, "optimizer on the mean: 0 = sgd, 1 = momentum, 2 = adam", true},
      {"momentum", 0.9, 0.0, 0.999999, "β of the momentum optimizer"},
      {"beta1", 0.9, 0.0, 0.999999, "Adam's β1"},
      {"beta2", 0.999, 0.0, 0.999999999, "Adam's β2"},
      {"epsilon", 1e-8, 1e-300, 1.0, "Adam's ε"},
      {"weight_decay", 0.0, 0.0, 1e6, "weight decay λ_wd on the mean (decoupled for adam)"},
      {"lr_decay", 1.0, 1e-6, 1.0, "learning rate of generation g: lr·lr_decay^g (Najarro & Risi 2020: 0.995)"},
      {"sigma_decay", 1.0, 1e-6, 1.0, "σ of generation g: sigma·sigma_decay^g (Najarro & Risi 2020: 0.999)"},
  };
  return s;
}

OpenAiEsOptions OpenAiEsOptions::from_params(const ParamValues& p) {
  OpenAiEsOptions o;
  o.sigma = p.at("sigma");
  o.lr = p.at("lr");
  o.population = static_cast<int>(p.at("population"));
  if (o.population % 2 != 0) throw InvalidValue("population", o.population, "must be even (antithetic pairs)");
  o.optimizer = static_cast<EsOptimizer>(static_cast<int>(p.at("optimizer")));
  o.momentum = p.at("momentum");
  o.beta1 = p.at("beta1");
  o.beta2 = p.at("beta2");
  o.epsilon = p.at("epsilon");
  o.weight_decay = p.at("weight_decay");
  o.lr_decay = p.at("lr_decay");
  o.sigma_decay = p.at("sigma_decay");
  return o;
}

Eigen::VectorXd openai_es_gradient(const Eigen::MatrixXd& epsilon, const Eigen::VectorXd& utilities, double sigma) {
  return epsilon.transpose() * utilities / (static_cast<double>(epsilon.rows()) * sigma);
}

int OpenAiEs::population(int n) const {
  return mirrored_population(options_.population, n);
}

StrategyState OpenAiEs::init(const Eigen::VectorXd& theta0) const {
  OpenAiEsState s;
  s.mean = theta0;
  s.m = Eigen::VectorXd::Zero(theta0.size());
  s.v = Eigen::VectorXd::Zero(theta0.size());
  return make_state(std::move(s));
}

double OpenAiEs::sigma(const StrategyState& state) const {
  const auto g = static_cast<double>(fields_of(state).generation);
  return options_.sigma_decay == 1.0 ? options_.sigma : options_.sigma * std::pow(options_.sigma_decay, g);
}

double OpenAiEs::learning_rate(const StrategyState& state) const {
  const auto g = static_cast<double>(fields_of(state).generation);
  return options_.lr_decay == 1.0 ? options_.lr : options_.lr * std::pow(options_.lr_decay, g);
}

Eigen::MatrixXd OpenAiEs::ask(const StrategyState& state, RandomStream& rng) const {
  const Eigen::VectorXd& mu = fields_of(state).mean;
  const double sigma = this->sigma(state);
  const auto n = static_cast<int>(mu.size());
  const int half = population(n) / 2;
  Eigen::MatrixXd pop(2 * half, n);
  for (int j = 0; j < half; ++j)
    for (int i = 0; i < n; ++i) {
      const double step = sigma * static_cast<double>(rng.normal());
      pop(j, i) = mu(i) + step;
      pop(j + half, i) = mu(i) - step;
    }
  return pop;
}

Eigen::VectorXd OpenAiEs::gradient(const Eigen::MatrixXd& population, const Eigen::VectorXd& fitness) const {
  return gradient(population, fitness, options_.sigma);
}

Eigen::VectorXd OpenAiEs::gradient(const Eigen::MatrixXd& population, const Eigen::VectorXd& fitness,
                                   double sigma) const {
  const auto lambda = population.rows();
  if (lambda % 2 != 0) throw Error("openai_es: tell() needs an even population (antithetic pairs)");
  const auto half = lambda / 2;
  Eigen::MatrixXd eps(lambda, population.cols());
  eps.topRows(half) = (population.topRows(half) - population.bottomRows(half)) / (2.0 * sigma);
  eps.bottomRows(half) = -eps.topRows(half);
  Eigen::VectorXd u = shape_fitness(Shaping::centered_ranks, fitness);
  pool_nan_utilities(fitness, u);
  return openai_es_gradient(eps, u, sigma);
}

StrategyState OpenAiEs::tell(const StrategyState& state, const Eigen::MatrixXd& population,
                             const Eigen::VectorXd& fitness) const {
  const OpenAiEsState& s = fields_of(state);
  const Eigen::VectorXd& mu = s.mean;
  const auto n = static_cast<int>(mu.size());
  check_told_population("openai_es", n, population, fitness);
  const Eigen::VectorXd g = gradient(population, fitness, sigma(state));
  Eigen::VectorXd m = s.m, v = s.v;
  const double lr = learning_rate(state), wd = options_.weight_decay;
  Eigen::VectorXd new_mu;
  switch (options_.optimizer) {
    case EsOptimizer::sgd:
      new_mu = mu - lr * (g + wd * mu);
      break;
    case EsOptimizer::momentum:
      m = options_.momentum * m + g + wd * mu;
      new_mu = mu - lr * m;
      break;
    case EsOptimizer::adam: {
      const double t = static_cast<double>(s.generation + 1);
      m = options_.beta1 * m + (1.0 - options_.beta1) * g;
      v = options_.beta2 * v + (1.0 - options_.beta2) * g.cwiseAbs2();
      const double c1 = 1.0 - std::pow(options_.beta1, t), c2 = 1.0 - std::pow(options_.beta2, t);
      const Eigen::VectorXd step = (m / c1).array() / ((v / c2).array().sqrt() + options_.epsilon);
      new_mu = mu - lr * (step + wd * mu);
      break;
    }
  }
  OpenAiEsState next;
  next.mean = std::move(new_mu);
  next.m = std::move(m);
  next.v = std::move(v);
  next.generation = s.generation + 1;
  next.evaluations = s.evaluations + population.rows();
  return make_state(std::move(next));
}

Eigen::VectorXd OpenAiEs::mean(const StrategyState& state) const { return fields_of(state).mean; }

double OpenAiEs::step_size(const StrategyState& state) const { return sigma(state); }

}  // namespace plast
