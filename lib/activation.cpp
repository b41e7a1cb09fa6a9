#include "lib/activation.hpp"

#include "lib/error.hpp"

namespace plast {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {"tanh", "relu", "sigmoid", "linear"};
  return names;
}

std::string_view to_string(Activation a) {
  switch (a) {
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::linear: return "linear";
  }
  return "?";
}

Activation parse_activation(std::string_view name) {
  if (name == "tanh") return Activation::tanh;
  if (name == "relu") return Activation::relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "linear") return Activation::linear;
  throw Error("unknown activation '" + std::string(name) + "' (known: tanh, relu, sigmoid, linear)");
}

void activate(Activation a, const Eigen::Ref<const Matrix>& z, Eigen::Ref<Matrix> h) {
  switch (a) {
    case Activation::tanh: h.array() = z.array().tanh(); break;
    case Activation::relu: h.array() = z.array().max(0.0f); break;
    case Activation::sigmoid: h.array() = 0.5f * (0.5f * z.array()).tanh() + 0.5f; break;
    case Activation::linear: h = z; break;
  }
}

void multiply_by_derivative(Activation a, const Eigen::Ref<const Matrix>& z,
                            const Eigen::Ref<const Matrix>& h, Eigen::Ref<Matrix> d) {
  switch (a) {
    case Activation::tanh: d.array() *= 1.0f - h.array().square(); break;
    case Activation::relu: d.array() *= (z.array() > 0.0f).cast<float>(); break;
    case Activation::sigmoid: d.array() *= h.array() * (1.0f - h.array()); break;
    case Activation::linear: break;
  }
}

}  // namespace plast
