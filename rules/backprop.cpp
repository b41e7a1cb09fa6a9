#include "rules/backprop.hpp"

namespace plast {
namespace {

struct BackpropState final : RuleState {
  DeltaBuffers buffers;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<BackpropState>(*this); }
};

}  // namespace

std::unique_ptr<RuleState> Backprop::make_state(const Mlp& net, int capacity, RandomStream) const {
  auto s = std::make_unique<BackpropState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  return s;
}

void Backprop::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  backprop_gradient(s.net, s.cache, s.output_delta, static_cast<BackpropState&>(state).buffers, out);
}

}  // namespace plast
