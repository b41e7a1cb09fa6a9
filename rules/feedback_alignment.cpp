#include "rules/feedback_alignment.hpp"

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct FeedbackAlignmentState final : RuleState {
  std::vector<Matrix> feedback;   // feedback[l] = B_l (n_l × n_{l+1}); feedback[0] is empty without a front end
  std::vector<Matrix> front;      // a front end's feedback kernels (lib/gradient.hpp, random_front_feedback)
  DeltaBuffers buffers;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<FeedbackAlignmentState>(*this); }
};

}  // namespace

std::vector<ParamSpec> FeedbackAlignment::params() {
  return {{"scale", 1.0, 0.0, 100.0, "B_l entries ~ U(±scale·glorot(n_l, n_l+1))"}};
}

std::unique_ptr<RuleState> FeedbackAlignment::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<FeedbackAlignmentState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  s->feedback.emplace_back();
  if (net.front_end()) {
    if (given_) throw Error("rule feedback_alignment: given feedback matrices do not cover a student's front end");
    s->feedback[0] = random_dense_input_feedback(net, rng, scale_);
    s->front = random_front_feedback(net, rng, scale_);
  }
  for (int l = 1; l < net.num_layers(); ++l) {
    const auto& w = net.weight(l);
    if (given_) {
      const Matrix& b = given_->at(static_cast<std::size_t>(l));
      if (b.rows() != w.cols() || b.cols() != w.rows())
        throw Error("rule feedback_alignment: given B_" + std::to_string(l) + " is " + std::to_string(b.rows()) + "×" +
                    std::to_string(b.cols()) + ", the student needs " + std::to_string(w.cols()) + "×" +
                    std::to_string(w.rows()));
      s->feedback.push_back(b);
      continue;
    }
    const float limit = scale_ * glorot_limit(w.cols(), w.rows());
    RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
    s->feedback.push_back(uniform_matrix(w.cols(), w.rows(), layer_rng, -limit, limit));
  }
  return s;
}

Matrix& FeedbackAlignment::feedback(RuleState& state, int layer) {
  return static_cast<FeedbackAlignmentState&>(state).feedback.at(static_cast<std::size_t>(layer));
}

std::optional<Matrix> FeedbackAlignment::feedback_matrix(const RuleState& state, int layer) const {
  const auto& st = static_cast<const FeedbackAlignmentState&>(state);
  if (layer < 1 || layer >= static_cast<int>(st.feedback.size())) return std::nullopt;
  return st.feedback[static_cast<std::size_t>(layer)];
}

std::vector<Matrix>& FeedbackAlignment::front_feedback(RuleState& state) {
  return static_cast<FeedbackAlignmentState&>(state).front;
}

void FeedbackAlignment::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<FeedbackAlignmentState&>(state);
  feedback_gradient(s.net, s.cache, s.output_delta, st.feedback, st.buffers, out, &st.front);
}

}  // namespace plast
