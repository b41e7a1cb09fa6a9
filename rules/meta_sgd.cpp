#include "rules/meta_sgd.hpp"

#include <cmath>
#include <limits>

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "rules/rule_space.hpp"

namespace plast {
namespace {

struct MetaSgdState final : RuleState {
  DeltaBuffers buffers;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<MetaSgdState>(*this); }
};

// a_l: one unit of an initialization offset of layer l (its Glorot limit at the options' gain).
double offset_unit(const MlpShape& shape, const MetaSgdOptions& o, int l) {
  const auto fan_in = shape.sizes[static_cast<std::size_t>(l)], fan_out = shape.sizes[static_cast<std::size_t>(l) + 1];
  return o.gain * static_cast<double>(glorot_limit(fan_in, fan_out));
}

long layer_rates(const MlpShape& shape, const MetaSgdOptions& o, int l) {
  const long in = shape.sizes[static_cast<std::size_t>(l)], out = shape.sizes[static_cast<std::size_t>(l) + 1];
  return o.rates == RateSharing::layer ? 2 : out * in + out;
}

void check_options(const MetaSgdOptions& o) {
  if (!(o.lr > 0.0) || !std::isfinite(o.lr)) throw InvalidValue("lr", o.lr, "must be > 0");
  if (!(o.gain > 0.0) || !std::isfinite(o.gain)) throw InvalidValue("gain", o.gain, "must be > 0");
}

class MetaSgdSpace final : public RuleSpace {
 public:
  MetaSgdSpace(MlpShape shape, const MetaSgdOptions& options)
      : shape_(std::move(shape)), options_(options) {
    check_options(options_);
    if (shape_.num_layers() < 1) throw Error("rule meta_sgd: the network has no layers");
    names_ = MetaSgd::names(shape_, options_);
  }
  const std::vector<std::string>& names() const override { return names_; }
  std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>& theta) const override {
    return std::make_shared<MetaSgd>(shape_, options_, theta);
  }
  ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>&) const override { return {}; }
  const std::string& rule() const override { return rule_; }

 private:
  MlpShape shape_;
  MetaSgdOptions options_;
  std::vector<std::string> names_;
  std::string rule_ = "meta_sgd";
};

}  // namespace

MetaSgdLearn parse_meta_sgd_learn(const std::string& name) {
  if (name == "init") return MetaSgdLearn::init;
  if (name == "rates") return MetaSgdLearn::rates;
  if (name == "both") return MetaSgdLearn::both;
  throw InvalidValue("learn", name, "unknown choice (known: init, rates, both)");
}

std::string meta_sgd_learn_name(MetaSgdLearn learn) {
  switch (learn) {
    case MetaSgdLearn::init: return "init";
    case MetaSgdLearn::rates: return "rates";
    case MetaSgdLearn::both: return "both";
  }
  return "?";
}

RateSharing parse_rate_sharing(const std::string& name) {
  if (name == "parameter") return RateSharing::parameter;
  if (name == "layer") return RateSharing::layer;
  throw InvalidValue("rates", name, "unknown sharing of the learning rates (known: parameter, layer)");
}

std::string rate_sharing_name(RateSharing rates) {
  return rates == RateSharing::layer ? "layer" : "parameter";
}

std::vector<ParamSpec> MetaSgd::params() {
  return {
      {"lr", 1.0, 1e-12, 1e6, "base learning rate: alpha = lr * exp(theta_lr) (times the optimizer's lr)"},
      {"init_seed", 0.0, 0.0, 4294967295.0, "seed of the fixed Glorot draw the initialization offsets are relative to",
       true},
      {"gain", 1.0, 1e-6, 100.0, "Glorot gain of that draw (and the unit of the initialization offsets)"},
  };
}

MetaSgdOptions MetaSgd::options(const ParamValues& p) {
  MetaSgdOptions o;
  o.lr = p.at("lr");
  o.init_seed = static_cast<std::uint64_t>(p.at("init_seed"));
  o.gain = p.at("gain");
  return o;
}

Mlp MetaSgd::base_initialization(const MlpShape& shape, const MetaSgdOptions& options) {
  Mlp net(shape);
  RandomStream rng(options.init_seed, Purpose::init_weights);   // make_student's key for seed init_seed
  net.init_glorot(rng, static_cast<float>(options.gain));
  return net;
}

int MetaSgd::dimension(const MlpShape& shape, const MetaSgdOptions& options) {
  long n = 0;
  for (int l = 0; l < shape.num_layers(); ++l) {
    const long in = shape.sizes[static_cast<std::size_t>(l)], out = shape.sizes[static_cast<std::size_t>(l) + 1];
    if (options.learns_init()) n += out * in + out;
    if (options.learns_rates()) n += layer_rates(shape, options, l);
  }
  return static_cast<int>(n);
}

std::vector<std::string> MetaSgd::names(const MlpShape& shape, const MetaSgdOptions& options) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(dimension(shape, options)));
  auto layer_names = [&](const std::string& prefix, int l) {
    const int in = shape.sizes[static_cast<std::size_t>(l)], width = shape.sizes[static_cast<std::size_t>(l) + 1];
    const std::string w = prefix + "W" + std::to_string(l), b = prefix + "b" + std::to_string(l);
    for (int i = 0; i < width; ++i)
      for (int j = 0; j < in; ++j) out.push_back(w + "[" + std::to_string(i) + "][" + std::to_string(j) + "]");
    for (int i = 0; i < width; ++i) out.push_back(b + "[" + std::to_string(i) + "]");
  };
  if (options.learns_init())
    for (int l = 0; l < shape.num_layers(); ++l) layer_names("", l);
  if (options.learns_rates()) {
    for (int l = 0; l < shape.num_layers(); ++l) {
      if (options.rates == RateSharing::layer) {
        out.push_back("lr_W" + std::to_string(l));
        out.push_back("lr_b" + std::to_string(l));
      } else {
        layer_names("lr_", l);
      }
    }
  }
  return out;
}

MetaSgd::MetaSgd(const MetaSgdOptions& options) : options_(options) { check_options(options_); }

MetaSgd::MetaSgd(const MlpShape& shape, const MetaSgdOptions& options, const Eigen::Ref<const Eigen::VectorXd>& theta)
    : shape_(shape), options_(options) {
  check_options(options_);
  if (shape_.num_layers() < 1) throw Error("rule meta_sgd: the network has no layers");
  const int n = dimension(shape_, options_);
  if (theta.size() != n)
    throw InvalidValue("theta", theta.size(),
                       "must have " + std::to_string(n) + " values for learn: " + meta_sgd_learn_name(options_.learn) +
                           (options_.learns_rates() ? ", rates: " + rate_sharing_name(options_.rates) : std::string()) +
                           " on " + shape_.str());
  for (Eigen::Index k = 0; k < n; ++k)
    if (!std::isfinite(theta(k))) throw InvalidValue(names(shape_, options_)[static_cast<std::size_t>(k)], theta(k), "must be finite");

  initial_ = base_initialization(shape_, options_);
  rates_ = Gradients::like(initial_);
  const int layers = shape_.num_layers();
  Eigen::Index k = 0;
  if (options_.learns_init()) {
    for (int l = 0; l < layers; ++l) {
      const double unit = offset_unit(shape_, options_, l);
      Matrix& w = initial_.weight(l);
      // Offsets in double, rounded once: W̄ + a·θ.
      for (Eigen::Index i = 0; i < w.rows(); ++i)
        for (Eigen::Index j = 0; j < w.cols(); ++j) w(i, j) = static_cast<float>(static_cast<double>(w(i, j)) + unit * theta(k++));
      RowVector& b = initial_.bias(l);
      for (Eigen::Index i = 0; i < b.size(); ++i) b(i) = static_cast<float>(unit * theta(k++));
    }
  }
  auto rate = [&](Eigen::Index at) {
    const double a = options_.lr * std::exp(theta(at));
    if (!std::isfinite(a) || static_cast<float>(a) > std::numeric_limits<float>::max())
      throw InvalidValue(names(shape_, options_)[static_cast<std::size_t>(at)], theta(at),
                         "gives a learning rate lr*exp(theta) that is not finite");
    return static_cast<float>(a);
  };
  for (int l = 0; l < layers; ++l) {
    Matrix& rw = rates_.dW[static_cast<std::size_t>(l)];
    RowVector& rb = rates_.db[static_cast<std::size_t>(l)];
    if (!options_.learns_rates()) {
      rw.setConstant(static_cast<float>(options_.lr));
      rb.setConstant(static_cast<float>(options_.lr));
    } else if (options_.rates == RateSharing::layer) {
      rw.setConstant(rate(k++));
      rb.setConstant(rate(k++));
    } else {
      for (Eigen::Index i = 0; i < rw.rows(); ++i)
        for (Eigen::Index j = 0; j < rw.cols(); ++j) rw(i, j) = rate(k++);
      for (Eigen::Index i = 0; i < rb.size(); ++i) rb(i) = rate(k++);
    }
  }
}

MetaSgd::MetaSgd(const Mlp& initial, double lr)
    : shape_(initial.shape()), options_{.learn = MetaSgdLearn::init, .lr = lr}, initial_(initial) {
  check_options(options_);
  if (shape_.num_layers() < 1) throw Error("rule meta_sgd: the network has no layers");
  rates_ = Gradients::like(initial_);
  for (auto& rw : rates_.dW) rw.setConstant(static_cast<float>(lr));
  for (auto& rb : rates_.db) rb.setConstant(static_cast<float>(lr));
}

void MetaSgd::check_shape(const Mlp& net) const {
  if (shaped() && net.shape().sizes != shape_.sizes)
    throw Error("rule meta_sgd: the initialization and rates are for " + shape_.str() + ", the student is " +
                net.shape().str());
}

std::unique_ptr<RuleState> MetaSgd::make_state(const Mlp& net, int capacity, RandomStream) const {
  check_shape(net);
  auto s = std::make_unique<MetaSgdState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  return s;
}

void MetaSgd::initialize(Mlp& net) const {
  if (!shaped()) {   // θ = 0: the fixed draw for whatever shape the student has
    RandomStream rng(options_.init_seed, Purpose::init_weights);
    net.init_glorot(rng, static_cast<float>(options_.gain));
    return;
  }
  check_shape(net);
  for (int l = 0; l < net.num_layers(); ++l) {
    net.weight(l) = initial_.weight(l);
    net.bias(l) = initial_.bias(l);
  }
}

void MetaSgd::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  backprop_gradient(s.net, s.cache, s.output_delta, static_cast<MetaSgdState&>(state).buffers, out);
  const int layers = s.net.num_layers();
  if (!shaped()) {
    const auto lr = static_cast<float>(options_.lr);
    for (int l = 0; l < layers; ++l) {
      out.dW[static_cast<std::size_t>(l)] *= lr;
      out.db[static_cast<std::size_t>(l)] *= lr;
    }
    return;
  }
  for (int l = 0; l < layers; ++l) {
    out.dW[static_cast<std::size_t>(l)].array() *= rates_.dW[static_cast<std::size_t>(l)].array();
    out.db[static_cast<std::size_t>(l)].array() *= rates_.db[static_cast<std::size_t>(l)].array();
  }
}

std::shared_ptr<const RuleSpace> meta_sgd_space(const MlpShape& shape, const MetaSgdOptions& options) {
  return std::make_shared<MetaSgdSpace>(shape, options);
}

namespace {

SpaceOptions read_meta_sgd_space(const ConfigNode& section) {
  const auto learn = section.find("learn"), rates = section.find("rates");
  if (!learn) {
    if (rates) rates->fail("needs `learn: rates` or `learn: both`");
    return {};
  }
  SpaceOptions o{{"learn", read_choice(*learn, [](const std::string& s) {
                    return meta_sgd_learn_name(parse_meta_sgd_learn(s));
                  })}};
  if (section.has("sharing"))   // abcd's key: say where Meta-SGD's own sharing is set
    section.at("sharing").fail("rule meta_sgd has no sharing levels: its rates are per `rates: parameter` or `layer`");
  if (rates) {
    if (o.at("learn") == "init") rates->fail("learn: init learns no rates (use learn: rates or both)");
    o["rates"] = read_choice(*rates, [](const std::string& s) { return rate_sharing_name(parse_rate_sharing(s)); });
  } else if (o.at("learn") != "init") {
    o["rates"] = "parameter";
  }
  return o;
}

}  // namespace

RuleSpaceFactory meta_sgd_space_factory() {
  RuleSpaceFactory f;
  f.keys = {{"learn", "learned initialization or rates"}, {"rates", "learned rates"}};
  f.each_only = "meta_sgd's initialization and rates are an array space: use `each`";
  f.read = read_meta_sgd_space;
  f.make = [](const SpaceOptions& o, const ParamValues& params, const MlpShape& shape) {
    MetaSgdOptions options = MetaSgd::options(params);
    options.learn = parse_meta_sgd_learn(o.at("learn"));
    if (const auto rates = o.find("rates"); rates != o.end()) options.rates = parse_rate_sharing(rates->second);
    return meta_sgd_space(shape, options);
  };
  return f;
}

}  // namespace plast
