#pragma once
// The ABCD Hebbian rule of Najarro & Risi 2020 ("Meta-learning through Hebbian plasticity in
// random networks", NeurIPS 33, eq. 1):
//   Δw_ij = η (A·pre_j·post_i + B·pre_j + C·post_i + D),
// averaged over the batch (Najarro & Risi use one observation per step); η is the optimizer's
// learning rate and, as optimizers subtract an update, the rule writes −Δw. Layer l uses
// pre = h_l (the input for l = 0) and post = h_{l+1} = f(z_l) of the forward pass.
// No error signal is used.
//
// The coefficients are shared at one of four levels (Sharing):
//   global   one (A, B, C, D) for the whole network                          4 values
//   layer    one per weight layer                                         4·L values
//   neuron   one per postsynaptic neuron i of each layer                   4·Σ n_{l+1}
//   synapse  one per weight w_ij (Najarro & Risi's setting)              4·Σ n_{l+1}·n_l
// θ's order (dimension(), names()): layer by layer (l = 0 first: input → first hidden); within
// a layer, neuron by neuron (postsynaptic i = row of W_l) and, for synapses, presynaptic j
// (column of W_l) within i — the row-major order of W_l; the four coefficients A, B, C, D of a
// unit are contiguous. Names: "A", "A[l0]", "A[l0][i3]", "A[l0][i3][j7]" (indices from 0, the
// indices of the weight matrices).
//
// normalize: after every update each layer's weights are divided by their largest |w|, as
// Najarro & Risi do to keep the Hebbian weights bounded; done in after_update. A layer whose
// weights are all zero (or not finite) is left as it is.
// Biases: Najarro & Risi's networks have none. The rule never changes the student's biases,
// which Glorot initialization sets to zero: they stay zero.
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

enum class Sharing { global, layer, neuron, synapse };

// "global" ↔ Sharing::global, ...; an unknown name throws InvalidValue("sharing", name, ...).
Sharing parse_sharing(const std::string& name);
std::string sharing_name(Sharing sharing);

class RuleSpace;
struct RuleSpaceFactory;

class AbcdRule final : public LearningRule {
 public:
  // theta: dimension(shape, sharing) values in the order above. For global sharing the shape
  // is not read (any network may use the rule); otherwise the student must have this shape.
  AbcdRule(const MlpShape& shape, Sharing sharing, const Eigen::Ref<const Eigen::VectorXd>& theta, bool normalize);

  std::string name() const override { return "abcd"; }
  bool local_plasticity() const override { return true; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  void after_update(Mlp& net, RuleState& state) const override;
  // One sample: the update, the SGD step and the normalization in two passes per layer.
  bool apply_sgd_step(const StepSignals& s, RuleState& state, float step_size, Mlp& net) const override;
  double update_flops(const MlpShape& shape, int batch) const override;

  static int dimension(const MlpShape& shape, Sharing sharing);
  static std::vector<std::string> names(const MlpShape& shape, Sharing sharing);
  // The registered `abcd` rule: global sharing, parameters A, B, C, D, normalize (0/1).
  static std::vector<ParamSpec> params();

  Sharing sharing() const { return sharing_; }
  bool normalize() const { return normalize_; }

 private:
  // Per layer: the coefficients as scalars (global, layer) or as n_out × n_in matrices
  // (neuron: every row constant; synapse), expanded once so that a step is elementwise.
  struct LayerCoefficients {
    float a = 0, b = 0, c = 0, d = 0;
    Matrix A, B, C, D;
  };
  MlpShape shape_;
  Sharing sharing_;
  bool normalize_;
  std::vector<LayerCoefficients> layers_;   // empty for global sharing
  LayerCoefficients global_;
  // Layer l's Δw/η for a one-sample forward pass, times scale, written to out (or added to it).
  template <bool Accumulate>
  void one_sample_terms(int layer, const ForwardCache& cache, float scale, Matrix& out) const;
  const LayerCoefficients& coefficients(int layer) const {
    return sharing_ == Sharing::global ? global_ : layers_[static_cast<std::size_t>(layer)];
  }
};

// The searchable family of ABCD rules of one network shape and sharing level (rules/rule_space.hpp):
// names() as AbcdRule::names, make(θ) an AbcdRule, rule() "abcd".
std::shared_ptr<const RuleSpace> abcd_space(const MlpShape& shape, Sharing sharing, bool normalize);
// The space a study's `rule:` section chooses with `sharing: global | layer | neuron | synapse`
// (one `each` box for every coefficient; the fixed `normalize` carries over):
//   rule: {type: abcd, sharing: synapse, normalize: 1, each: {init: 0, lower: -10, upper: 10}}
// Without `sharing` a study searches the global A, B, C, D by name (`terms: all`).
RuleSpaceFactory abcd_space_factory();

}  // namespace plast
