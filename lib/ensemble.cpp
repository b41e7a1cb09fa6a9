#include "lib/ensemble.hpp"

#include <string>

#include "lib/error.hpp"

namespace plast {
namespace {

std::string describe(const Mlp& m) {
  return m.shape().str() + (m.shape().output == Activation::linear ? "" : " (output " + std::string(to_string(m.shape().output)) + ")");
}

void check_members(const std::vector<Mlp>& members) {
  if (members.empty()) throw Error("ensemble: no members");
  const Mlp& first = members.front();
  if (first.shape().output != Activation::linear)
    throw Error("ensemble: member 1 is " + describe(first) + ": an ensemble averages logits, so outputs must be linear");
  for (std::size_t k = 1; k < members.size(); ++k) {
    const Mlp& m = members[k];
    const bool same = m.num_layers() == first.num_layers() && m.input_size() == first.input_size() &&
                      m.output_size() == first.output_size() && m.shape().hidden == first.shape().hidden &&
                      m.shape().output == first.shape().output;
    if (!same)
      throw Error("ensemble: member " + std::to_string(k + 1) + " is " + describe(m) + ": member 1 is " + describe(first));
  }
}

}  // namespace

long ensemble_parameters(const std::vector<Mlp>& members) {
  long n = 0;
  for (const Mlp& m : members) n += m.num_parameters();
  return n;
}

Mlp logit_ensemble(const std::vector<Mlp>& members) {
  check_members(members);
  const Mlp& first = members.front();
  const int layers = first.num_layers();
  MlpShape shape = first.shape();
  for (int l = 1; l < layers; ++l) {   // hidden widths: the members' side by side
    shape.sizes[static_cast<std::size_t>(l)] = 0;
    for (const Mlp& m : members) shape.sizes[static_cast<std::size_t>(l)] += m.shape().sizes[static_cast<std::size_t>(l)];
  }
  Mlp out(shape);   // all zero: the off-diagonal blocks stay so
  const float inv_k = 1.0f / static_cast<float>(members.size());
  for (int l = 0; l < layers; ++l) {
    const bool last = l + 1 == layers;
    Eigen::Index row = 0, col = 0;   // where member k's block of layer l starts
    for (const Mlp& m : members) {
      const Matrix& w = m.weight(l);
      if (last) {
        out.weight(l).block(0, col, w.rows(), w.cols()) = w * inv_k;
        out.bias(l) += m.bias(l) * inv_k;
      } else {
        out.weight(l).block(row, l == 0 ? 0 : col, w.rows(), w.cols()) = w;
        out.bias(l).segment(row, w.rows()) = m.bias(l);
      }
      row += w.rows();
      col += w.cols();
    }
  }
  return out;
}

}  // namespace plast
