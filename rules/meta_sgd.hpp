#pragma once
// Meta-SGD (Li, Zhou, Chen & Li 2017, "Meta-SGD: Learning to Learn Quickly for Few-Shot
// Learning", arXiv:1707.09835, eq. 1): a learned initialization θ_0 and a learned learning rate
// α for every parameter, with the inner loop
//     θ ← θ − α ⊙ ∇L(θ)        (θ_0 at the start of every task).
// MAML (Finn et al. 2017) is the special case of a learned θ_0 with one fixed α. Here the outer
// loop is plast's (an evolution strategy over the rule space below) instead of Li et al.'s
// second-order meta-gradient; the inner loop is the student's own training.
//
// As a LearningRule: initialize() writes θ_0 into the student (LearningRule::initialize, called
// by make_student and for every control episode), and compute_update returns α ⊙ g with g the
// exact gradient of lib/gradient.hpp (backprop_gradient). The optimizer applies it, so with
// `optimizer: {type: sgd, lr: 1}` the inner loop is exactly Meta-SGD's; another SGD rate η
// scales every α by η (and momentum or Adam give a preconditioned Meta-SGD).
//
// Parameterization of θ (the searched vector; every coordinate 0 is a meaningful point):
//   - initialization offsets, in Glorot units: W_l = W̄_l + a_l·θ_{W_l}, b_l = a_l·θ_{b_l}, where
//     W̄ is the fixed Glorot-uniform draw of the stream (init_seed, Purpose::init_weights) with
//     gain `gain` — exactly the weights make_student gives a student of seed init_seed with that
//     gain (biases 0) — and a_l = gain·√(6/(n_l + n_{l+1})) is that layer's Glorot limit. So
//     θ = 0 is a standard random initialization, and one unit of θ is one Glorot limit in every
//     layer: a strategy's isotropic σ perturbs wide and narrow layers alike.
//   - learning rates in log space: α = lr·exp(θ_lr) per parameter (or per layer's weights and
//     per layer's biases), so θ_lr = 0 is plain SGD at the base rate `lr` and one unit of θ_lr
//     is a factor e. Rates stay positive (Li et al.'s α is a free real vector; a negative rate
//     would ascend the loss) and a strategy's additive noise becomes multiplicative noise on α,
//     which suits rates that span orders of magnitude.
// One `each` box in a study therefore means "±k Glorot limits" and "a factor e^±k" at once.
//
// What is learned (MetaSgdLearn): init (θ_0 only, α = lr everywhere), rates (α only, θ_0 = W̄),
// or both. Rates are per parameter (Li et al.) or per layer: one rate for W_l and one for b_l.
// θ's order (dimension(), names()): the initialization offsets (if learned), then the rates (if
// learned); each part layer by layer (l = 0 first: input → first hidden), W_l row-major
// (postsynaptic i = row, presynaptic j = column, as in lib/mlp.hpp) then b_l. Names:
// "W0[3][7]", "b1[2]", "lr_W0[3][7]", "lr_b1[2]", or per layer "lr_W0", "lr_b0".
//
// The registered rule `meta_sgd` is θ = 0 on any network: plain SGD at rate lr from the fixed
// Glorot draw of init_seed (the student's own draw, and its init gain, are replaced).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

enum class MetaSgdLearn { init, rates, both };
enum class RateSharing { parameter, layer };

// "init" ↔ MetaSgdLearn::init, ...; an unknown name throws InvalidValue("learn", name, ...).
MetaSgdLearn parse_meta_sgd_learn(const std::string& name);
std::string meta_sgd_learn_name(MetaSgdLearn learn);
// "parameter" ↔ RateSharing::parameter, "layer"; unknown: InvalidValue("rates", name, ...).
RateSharing parse_rate_sharing(const std::string& name);
std::string rate_sharing_name(RateSharing rates);

struct MetaSgdOptions {
  MetaSgdLearn learn = MetaSgdLearn::both;
  RateSharing rates = RateSharing::parameter;
  double lr = 1.0;                 // base rate: α = lr·exp(θ_lr)
  std::uint64_t init_seed = 0;     // the fixed Glorot draw W̄ that θ's offsets are relative to
  double gain = 1.0;               // its Glorot gain (and the unit a_l of the offsets)
  bool learns_init() const { return learn != MetaSgdLearn::rates; }
  bool learns_rates() const { return learn != MetaSgdLearn::init; }
};

class RuleSpace;
struct RuleSpaceFactory;

class MetaSgd final : public LearningRule {
 public:
  // The registered rule: θ = 0 on any network (α = lr, θ_0 = the fixed draw for the student's shape).
  explicit MetaSgd(const MetaSgdOptions& options);
  // θ of dimension(shape, options) values in the order above; the student must have this
  // shape (sizes). Throws InvalidValue for a θ of the wrong size, a non-finite value or a rate
  // lr·exp(θ) that is not finite.
  MetaSgd(const MlpShape& shape, const MetaSgdOptions& options, const Eigen::Ref<const Eigen::VectorXd>& theta);

  std::string name() const override { return "meta_sgd"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void initialize(Mlp& net) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;

  // A given initialization θ_0 (any network: e.g. one pre-trained on pooled meta-train tasks,
  // search/pretrain.hpp) with one rate lr everywhere: the "pre-train, then fine-tune" learner
  // that few-shot papers compare against (Finn et al. 2017, §5.1). learn is init; init_seed
  // and gain are unused.
  MetaSgd(const Mlp& initial, double lr);

  static int dimension(const MlpShape& shape, const MetaSgdOptions& options);
  static std::vector<std::string> names(const MlpShape& shape, const MetaSgdOptions& options);
  // The registered rule's parameters: lr, init_seed, gain (the options above other than
  // learn and rates, which only a study's array space uses).
  static std::vector<ParamSpec> params();
  static MetaSgdOptions options(const ParamValues& params);
  // W̄: the fixed Glorot draw that θ = 0 starts from.
  static Mlp base_initialization(const MlpShape& shape, const MetaSgdOptions& options);

  const MetaSgdOptions& options() const { return options_; }
  // The learned initialization θ_0 and the rates α, shaped as the network (shaped rules only;
  // per-layer rates are written out as constant matrices).
  const Mlp& initial() const { return initial_; }
  const Gradients& rates() const { return rates_; }
  bool shaped() const { return !shape_.sizes.empty(); }

 private:
  MlpShape shape_;          // empty: the registered, shape-free rule
  MetaSgdOptions options_;
  Mlp initial_;
  Gradients rates_;
  void check_shape(const Mlp& net) const;
};

// The searchable family of Meta-SGD learners of one network shape (rules/rule_space.hpp):
// names() as MetaSgd::names, make(θ) a MetaSgd, rule() "meta_sgd". Throws InvalidValue for
// options out of range (lr, gain ≤ 0) and plast::Error for a network without layers.
std::shared_ptr<const RuleSpace> meta_sgd_space(const MlpShape& shape, const MetaSgdOptions& options);
// The space a study's `rule:` section chooses with `learn: init | rates | both` and, when rates
// are learned, `rates: parameter | layer` (the default parameter); the fixed parameters (lr,
// init_seed, gain) carry over:
//   rule: {type: meta_sgd, learn: both, rates: parameter, lr: 0.01, each: {init: 0, lower: -5, upper: 5}}
RuleSpaceFactory meta_sgd_space_factory();

}  // namespace plast
