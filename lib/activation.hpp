#pragma once
// Element-wise activations and their derivatives, written so that the derivative is
// computed from the cached pre-activation z and activation h without allocating.
#include <string>
#include <string_view>
#include <vector>

#include "lib/tensor.hpp"

namespace plast {

enum class Activation { tanh, relu, sigmoid, linear };

std::string_view to_string(Activation a);
// Throws plast::Error listing the known names.
Activation parse_activation(std::string_view name);
const std::vector<std::string>& activation_names();

// h = f(z), on the first rows of both.
void activate(Activation a, const Eigen::Ref<const Matrix>& z, Eigen::Ref<Matrix> h);
// d *= f'(z), given z and h = f(z): the step of every backward pass.
void multiply_by_derivative(Activation a, const Eigen::Ref<const Matrix>& z,
                            const Eigen::Ref<const Matrix>& h, Eigen::Ref<Matrix> d);

}  // namespace plast
