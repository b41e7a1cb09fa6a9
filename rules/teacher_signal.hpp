#pragma once
// A teacher with access to the truth (the teaching-signal comparison): a small
// network that sees, for every sample, the target y, the student's output ŷ and its error e, and
// sends every hidden unit of the student its own teaching signal. The student still learns
// locally — each hidden layer's update is its signal times the unit's own derivative times the
// presynaptic activity, as in direct feedback alignment (Nøkland 2016, eq. 3) — but the signal
// comes from a learned, possibly nonlinear teacher whose weights are θ, meta-learned by the
// outer loop. It sits between DFA (a fixed random map of the error, no learning) and synthetic
// gradients (Jaderberg et al. 2017, rules/synthetic_gradients.hpp: a module that predicts the
// gradient from the student's own activity, trained within the task): here the teacher knows
// the truth (y) but not the student's inside, and it is learned across tasks, not within one.
//
// For hidden layer l (l = 0 … L−2, width n = n_{l+1}) and a batch of B samples:
//   u = [y, ŷ, e]                          (B × 3m; m outputs; e = B·dL/dz_out, one sample's
//                                           output error: ŷ − y for a squared loss, softmax(ŷ) − y
//                                           for cross-entropy, where ŷ is the logits)
//   s_l = exp(g_l)·e D_lᵀ                  the fixed random DFA pathway (D_l as in
//         + u A_l                           rules/direct_feedback_alignment.hpp, scale
//         + tanh(u V + c) U_l               `feedback_scale`), a learned linear map and a learned
//                                           one-hidden-layer MLP of k = `hidden` tanh units
//                                           shared by all layers (V: 3m × k, c: 1 × k, U_l: k × n)
//   δ_l = (s_l / B) ⊙ f'(z_l),   ΔW_l = δ_lᵀ h_l,   Δb_l = Σ_rows δ_l
// and the output layer learns from its true error δ_L = dL/dz_out (as in DFA). s_l plays the
// role of ∂ℓ/∂h for one sample; dividing by B gives the batch mean every other rule uses.
//
// θ (the searched vector), in this order, every coordinate 0 a meaningful point:
//   g_h1 … g_h{L−1}          log gains of the random pathway (0: DFA's own scale)
//   A_hK[in][j]              if `linear`: 3m × n_K per hidden layer, in units of glorot(3m, n_K)
//   V[in][i], c[i]           if hidden > 0: 3m × k and k, in units of glorot(3m, k)
//   U_hK[i][j]               if hidden > 0: k × n_K per hidden layer, in units of glorot(k, n_K)
//   model_hK, model_memory_hK  if `forward_model`: β and ℓ per hidden layer (below)
// where `in` names a teacher input ("y3", "yhat3", "e3") and j a hidden unit. θ = 0 is exactly
// direct feedback alignment with scale `feedback_scale` (the same D_l for the same student:
// tests/rules/test_teacher_signal.cpp), so a search starts from a rule that already learns;
// with feedback_scale = 0, θ = 0 teaches nothing and only the output layer learns. Measuring θ
// in Glorot units lets one isotropic σ perturb narrow and wide maps alike (as Meta-SGD's
// offsets, rules/meta_sgd.hpp). The registered rule `teacher_signal` is θ = 0 on any network.
//
// With `error_only` the teacher sees the error alone (u = e, m inputs instead of 3m) and its MLP
// term is centred, tanh(e V + c) U_l − tanh(c) U_l, so the whole signal is exactly 0 when e = 0:
// like backprop and DFA (Nøkland 2016) it stops teaching a student that fits its batch, where
// the full teacher, which also reacts to y and ŷ, keeps pushing (its loss floor on mlp_teacher,
// studies/README.md). θ = 0 is still DFA. Input names are then "e0" … "e{m−1}".
//
// What the teacher above cannot do: it does not see the student's weights or activities, so it
// cannot know which role a hidden unit has taken. Its signal shapes the student (the output
// weights come to align with it, as with DFA); it can choose that pathway's structure and strength
// and react nonlinearly to y and ŷ, but a fixed teacher is not backprop for an arbitrary student
// (measured: studies/README.md, "teaching signals", second round — the learned θ scored as θ = 0).
//
// With `forward_model` the teacher also watches the student's hidden activity h_l and its output
// z_out (what synthetic gradients see) and learns, within the task, a linear forward model of the
// output from each hidden layer, ẑ = h̃ M̃_l with h̃ = [h_l, 1] (M_l: the first n_l rows, n_l × m).
// It keeps exponentially decaying moments of what it saw — Hebbian-like traces — and reads the
// model out by ridge least squares every step, before it teaches (recursive least squares with a
// forgetting factor, solved directly; Haykin, "Adaptive filter theory", ch. 10):
//   C_l ← λ_l C_l + h̃ᵀh̃,   D_l ← λ_l D_l + h̃ᵀ z_out,   M̃_l = (C_l + εI)⁻¹ D_l   (ε = 10⁻⁴·tr C_l/(n_l+1))
// and it also sends
//   s_l += β_l · e M_lᵀ
// For the last hidden layer z_out = h W_outᵀ + b exactly, so once the batches in memory span h̃
// (n_l + 1 samples; λ_l trades that against tracking a student whose W_out moves) M_l = W_outᵀ
// up to the ridge, and β_l = 1 sends backprop's ∂ℓ/∂h = e W_out; for lower layers M_l is the
// least-squares linear predictor of the output from h_l (an average Jacobian). Only W_outᵀ's part
// on the span of the activity the teacher saw is identified: a layer wider than what drives it
// (a 5-12-3 student's h lies near a 5-dimensional subspace) gets the projection, the ridge setting
// the rest to 0 (tests/rules/test_teacher_signal.cpp). The moments start at 0, so the first
// step's model is fit to the first batch alone. θ gains two values per hidden layer, after U: β_l
// ("model_hK"; 0: no model pathway, and no model is kept) and ℓ_l ("model_memory_hK";
// λ_l = σ(ℓ_l): at θ = 0 each batch's weight halves every step). θ = 0 is still DFA. This is weight transport by
// system identification: the teacher learns the student's downstream weights from the activity it
// sees, where the weight mirror and Kolen–Pollack (rules/weight_mirror.hpp,
// rules/kolen_pollack.hpp) learn B → Wᵀ inside the student from injected noise or its own updates.
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

struct TeacherSignalOptions {
  double feedback_scale = 1.0;   // D_l ~ U(±feedback_scale·glorot(n_l, m)); 0: no random pathway
  int hidden = 8;                // k: the teacher MLP's tanh units; 0: no MLP part
  bool linear = true;            // the learned linear map u A_l
  bool error_only = false;       // u = e only, MLP term centred at e = 0 (signal 0 at e = 0)
  bool forward_model = false;    // a learned linear model of z_out from each h_l, e M_lᵀ as a pathway
  double model = 0.0;            // the registered rule's β on every hidden layer (λ = 0.5); 0: none
};

class RuleSpace;
struct RuleSpaceFactory;

class TeacherSignal final : public LearningRule {
 public:
  // The registered rule: θ = 0 on any network (DFA at feedback_scale), plus the model pathway at
  // β = options.model, λ = 0.5 when that is non-zero.
  explicit TeacherSignal(const TeacherSignalOptions& options);
  // θ of dimension(shape, options) values in the order above; the student must have this shape
  // (sizes). Throws InvalidValue for a θ of the wrong size or a non-finite value (a gain
  // exp(g) that is not a finite float included), plast::Error for a network without hidden
  // layers. (The registered rule runs on one too: only its output layer learns, as with DFA.)
  TeacherSignal(const MlpShape& shape, const TeacherSignalOptions& options, const Eigen::Ref<const Eigen::VectorXd>& theta);

  std::string name() const override { return "teacher_signal"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  double update_flops(const MlpShape& shape, int batch) const override;

  static int dimension(const MlpShape& shape, const TeacherSignalOptions& options);
  static std::vector<std::string> names(const MlpShape& shape, const TeacherSignalOptions& options);
  static std::vector<ParamSpec> params();
  static TeacherSignalOptions options(const ParamValues& params);

  // The teacher's weights (shaped rules; empty matrices where θ has no such part).
  struct Teacher {
    std::vector<float> gains;   // exp(g_l) per hidden layer
    std::vector<Matrix> a;      // A_l: 3m × n_l (m × n_l if error_only)
    Matrix v;                   // V: 3m × k (m × k if error_only)
    RowVector c;                // c: 1 × k
    RowVector tanh_c;           // tanh(c), subtracted when error_only
    std::vector<Matrix> u;      // U_l: k × n_l
    std::vector<float> model;        // β_l per hidden layer (forward_model; empty otherwise)
    std::vector<float> model_memory;   // λ_l = σ(ℓ_l) per hidden layer
  };
  const Teacher& teacher() const { return teacher_; }
  const TeacherSignalOptions& options() const { return options_; }
  bool shaped() const { return !shape_.sizes.empty(); }

 private:
  MlpShape shape_;   // empty: the registered, shape-free rule (θ = 0)
  TeacherSignalOptions options_;
  Teacher teacher_;
  bool uses_linear_ = false, uses_mlp_ = false;   // some A_l (resp. U_l) is non-zero
  bool uses_model_ = false;                        // some β_l is non-zero
  void check_shape(const Mlp& net) const;
};

// The searchable family of teachers for one student shape (rules/rule_space.hpp): names() as
// TeacherSignal::names, make(θ) a TeacherSignal, rule() "teacher_signal". Throws plast::Error for
// a network without hidden layers and InvalidValue for options out of range.
std::shared_ptr<const RuleSpace> teacher_signal_space(const MlpShape& shape, const TeacherSignalOptions& options);
// The space a study's `rule:` section chooses with `search_teacher: true` (the fixed
// parameters set the options; `model` is refused, θ holds the model pathway):
//   rule: {type: teacher_signal, search_teacher: true, hidden: 8, each: {init: 0, lower: -4, upper: 4}}
RuleSpaceFactory teacher_signal_space_factory();

}  // namespace plast
