#include "rules/registry.hpp"

#include <algorithm>

#include "rules/abcd.hpp"
#include "rules/backprop.hpp"
#include "rules/direct_feedback_alignment.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/feedback_space.hpp"
#include "rules/kolen_pollack.hpp"
#include "rules/learned_feedback.hpp"
#include "rules/learned_optimizer.hpp"
#include "rules/meta_sgd.hpp"
#include "rules/node_perturbation.hpp"
#include "rules/polynomial_hebbian.hpp"
#include "rules/sign_symmetry.hpp"
#include "rules/synthetic_gradients.hpp"
#include "rules/teacher_signal.hpp"
#include "rules/term_pool.hpp"
#include "rules/weight_mirror.hpp"
#include "rules/weight_perturbation.hpp"

namespace plast {
namespace {

bool among(const std::string& name, const std::vector<std::string>& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Rules that carry the output error back to the hidden layers: exactly, through feedback
// pathways (fixed, learned or searched) or by perturbation.
void add_error_transport_rules(RuleRegistry& r) {
  r.add({"backprop", "exact gradient (Rumelhart, Hinton & Williams 1986)", Backprop::params(),
         [](const ParamValues&) { return std::make_shared<Backprop>(); }});
  r.add({"feedback_alignment", "fixed random feedback B_l in place of W_l^T (Lillicrap et al. 2016)",
         FeedbackAlignment::params(), [](const ParamValues& p) {
           return std::make_shared<FeedbackAlignment>(static_cast<float>(p.at("scale")));
         }},
        feedback_space_factory(false));
  r.add({"direct_feedback_alignment", "output error to every hidden layer through fixed random D_l (Nokland 2016)",
         DirectFeedbackAlignment::params(), [](const ParamValues& p) {
           return std::make_shared<DirectFeedbackAlignment>(static_cast<float>(p.at("scale")));
         }},
        feedback_space_factory(true));
  r.add({"weight_perturbation", "perturb all weights, broadcast the loss change: (L(W+psi) - L(W)) psi / sigma^2 "
         "(Jabri & Flower 1992; Werfel, Xie & Seung 2005)",
         WeightPerturbation::params(), [](const ParamValues& p) {
           return std::make_shared<WeightPerturbation>(static_cast<float>(p.at("sigma")), p.at("antithetic") != 0);
         }});
  r.add({"node_perturbation", "perturb pre-activations, per-sample (L(xi) - L) xi h^T / sigma^2 "
         "(Werfel, Xie & Seung 2005; Fiete & Seung 2006)",
         NodePerturbation::params(),
         [](const ParamValues& p) { return std::make_shared<NodePerturbation>(static_cast<float>(p.at("sigma"))); }});
  r.add({"synthetic_gradients", "per hidden layer a linear module predicts dL/dh from h (and y: cDNI), trained on "
         "bootstrapped targets; only the top one sees the true gradient (Jaderberg et al. 2017)",
         SyntheticGradients::params(),
         [](const ParamValues& p) { return std::make_shared<SyntheticGradients>(SyntheticGradients::options(p)); }});
  r.add({"teacher_signal", "a teacher that sees [y, yhat, e] sends every hidden unit its signal s_l = exp(g_l) e D_l^T + "
         "u A_l + tanh(u V + c) U_l (error_only: u = e, minus tanh(c) U_l, so s_l = 0 at e = 0); local update "
         "(s_l * f') h^T; forward_model: the teacher also learns z_out ~ h_l M_l + b_l from the student's activity "
         "and sends beta e M_l^T (beta = `model` here); theta = 0 (this entry, model 0) is DFA, a study's "
         "`search_teacher: true` learns the teacher (Nokland 2016 for the DFA pathway)",
         TeacherSignal::params(),
         [](const ParamValues& p) { return std::make_shared<TeacherSignal>(TeacherSignal::options(p)); }},
        teacher_signal_space_factory());
  r.add({"usf", "sign symmetry: B_l = mean|W_l| sign(W_l)^T, uniform magnitude (uSF, Liao, Leibo & Poggio 2016)",
         SignSymmetry::params(), [](const ParamValues& p) {
           return std::make_shared<SignSymmetry>(SignSymmetry::Variant::uniform, static_cast<float>(p.at("scale")));
         }});
  r.add({"brsf", "sign symmetry with random magnitudes |R| redrawn every batch (brSF, Liao, Leibo & Poggio 2016)",
         SignSymmetry::params(), [](const ParamValues& p) {
           return std::make_shared<SignSymmetry>(SignSymmetry::Variant::batch_random, static_cast<float>(p.at("scale")));
         }});
  r.add({"frsf", "sign symmetry with random magnitudes |R| fixed at the start (frSF, Liao, Leibo & Poggio 2016)",
         SignSymmetry::params(), [](const ParamValues& p) {
           return std::make_shared<SignSymmetry>(SignSymmetry::Variant::fixed_random, static_cast<float>(p.at("scale")));
         }});
  r.add({"kolen_pollack", "B_l learns the transpose of W_l's update, both decay, so B -> W^T (Akrout et al. 2019)",
         KolenPollack::params(), [](const ParamValues& p) {
           return std::make_shared<KolenPollack>(static_cast<float>(p.at("scale")), static_cast<float>(p.at("decay")));
         }});
  r.add({"weight_mirror", "B_l learns W_l^T from noise sent through W_l in mirror mode (Akrout et al. 2019)",
         WeightMirror::params(),
         [](const ParamValues& p) { return std::make_shared<WeightMirror>(WeightMirror::options(p)); }});
  r.add({"learned_feedback", "FA (or DFA) whose feedback B regresses a node-perturbation estimate of the error: "
         "dB = -beta (B e - (L(xi) - L) xi / sigma^2) e^T (Lansdell, Prakash & Kording 2020)",
         LearnedFeedback::params(),
         [](const ParamValues& p) { return std::make_shared<LearnedFeedback>(LearnedFeedback::options(p)); }});
}

// Families of rules, optimizers and plasticity meant to be searched: each θ names one rule.
void add_rule_families(RuleRegistry& r) {
  r.add({"meta_sgd", "Meta-SGD: update alpha * dL/dW from a fixed Glorot init; with theta = 0 (this entry) alpha = lr, "
         "a study's `learn:` searches the init and per-parameter rates (Li, Zhou, Chen & Li 2017)",
         MetaSgd::params(), [](const ParamValues& p) { return std::make_shared<MetaSgd>(MetaSgd::options(p)); }},
        meta_sgd_space_factory());
  r.add({"learned_optimizer", "per-parameter shared MLP of g, two momenta (/ running RMS), w and time: "
         "u = lr exp(s) d; theta = 0 (this entry) is Adam, or SGD with base 0 (Andrychowicz et al. 2016; Metz et al. 2019)",
         LearnedOptimizer::params(), [](const ParamValues& p) {
           return std::make_shared<LearnedOptimizer>(LearnedOptimizer::options(p), LearnedOptimizer::theta(p));
         }});
  r.add({"polynomial_hebbian", "sum of monomials pre^a post^b w^c, a,b,c in {0,1,2} (defaults: Oja 1982)",
         PolynomialHebbian::params(false),
         [](const ParamValues& p) { return std::make_shared<PolynomialHebbian>(p, false); }});
  r.add({"taylor", "sum of monomials pre^a post^b w^c m^d with a third factor m: error or reward (Jordan et al. 2021)",
         PolynomialHebbian::params(true),
         [](const ParamValues& p) { return std::make_shared<PolynomialHebbian>(p, true); }});
  r.add({"term_pool", "weighted pool of local terms with random feedback: pseudo_grad, error_hebb, oja, hebb, decay, ... "
         "(Shervani-Tabar & Rosenbaum 2023; defaults: FA)",
         TermPool::params(), [](const ParamValues& p) { return std::make_shared<TermPool>(p); }});
  r.add({"abcd", "dw = eta(A pre post + B pre + C post + D), global coefficients (Najarro & Risi 2020)", AbcdRule::params(),
         [](const ParamValues& p) {
           const Eigen::Vector4d theta(p.at("A"), p.at("B"), p.at("C"), p.at("D"));
           return std::make_shared<AbcdRule>(MlpShape{}, Sharing::global, theta, p.at("normalize") != 0);
         }},
        abcd_space_factory());
}

}  // namespace

void RuleRegistry::add(Entry entry, std::optional<RuleSpaceFactory> space) {
  std::vector<std::string> space_keys;
  if (space)
    for (const auto& key : space->keys) space_keys.push_back(key.name);
  const std::string rule = "rule " + entry.name + ": ";
  for (const auto& key : space_keys)
    if (among(key, rule_section_keys()))
      throw Error(rule + "its search space's key '" + key + "' is a key of every study's `rule:` section");
  for (const auto& p : entry.params) {
    if (among(p.name, rule_section_keys()))
      throw Error(rule + "parameter '" + p.name + "' is a key of every study's `rule:` section, where it is written");
    if (among(p.name, space_keys))
      throw Error(rule + "parameter '" + p.name + "' is also a key of its search space");
  }
  if (space) spaces_[entry.name] = std::move(*space);
  Registry<LearningRule>::add(std::move(entry));
}

const RuleSpaceFactory* RuleRegistry::space(const std::string& rule) const {
  const auto it = spaces_.find(rule);
  return it == spaces_.end() ? nullptr : &it->second;
}

void register_rules(RuleRegistry& r) {
  add_error_transport_rules(r);
  add_rule_families(r);
}

const RuleRegistry& rule_registry() {
  static const RuleRegistry registry = [] {
    RuleRegistry r("rule");
    register_rules(r);
    return r;
  }();
  return registry;
}

}  // namespace plast
