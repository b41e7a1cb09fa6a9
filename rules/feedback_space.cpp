#include "rules/feedback_space.hpp"

#include "lib/error.hpp"
#include "rules/direct_feedback_alignment.hpp"
#include "rules/feedback_alignment.hpp"

namespace plast {
namespace {

class FeedbackSpace final : public RuleSpace {
 public:
  FeedbackSpace(const MlpShape& shape, bool direct) : direct_(direct), rule_(direct ? "direct_feedback_alignment" : "feedback_alignment") {
    const int layers = shape.num_layers();
    const int out = shape.sizes.back();
    shapes_.resize(static_cast<std::size_t>(layers));
    // FA: B_l (n_l × n_{l+1}) for l ≥ 1; DFA: D_l (n_{l+1} × n_out) for l ≤ L − 2.
    for (int l = 0; l < layers; ++l) {
      const int in = shape.sizes[static_cast<std::size_t>(l)], width = shape.sizes[static_cast<std::size_t>(l) + 1];
      if (!direct && l >= 1) shapes_[static_cast<std::size_t>(l)] = {in, width};
      if (direct && l + 1 < layers) shapes_[static_cast<std::size_t>(l)] = {width, out};
    }
    const char* letter = direct ? "D" : "B";
    for (int l = 0; l < layers; ++l) {
      const auto [rows, cols] = shapes_[static_cast<std::size_t>(l)];
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j)
          names_.push_back(std::string(letter) + "[l" + std::to_string(l) + "][i" + std::to_string(i) + "][j" +
                           std::to_string(j) + "]");
    }
    if (names_.empty()) throw Error("rule " + rule_ + ": a network without hidden layers has no feedback to search");
  }

  const std::vector<std::string>& names() const override { return names_; }

  std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>& theta) const override {
    if (theta.size() != static_cast<Eigen::Index>(names_.size()))
      throw InvalidValue("theta", theta.size(), "must have " + std::to_string(names_.size()) + " values");
    auto matrices = std::make_shared<std::vector<Matrix>>(shapes_.size());
    Eigen::Index k = 0;
    for (std::size_t l = 0; l < shapes_.size(); ++l) {
      const auto [rows, cols] = shapes_[l];
      Matrix& m = (*matrices)[l];
      m.resize(rows, cols);
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) m(i, j) = static_cast<float>(theta(k++));
    }
    if (direct_) return std::make_shared<DirectFeedbackAlignment>(std::move(matrices));
    return std::make_shared<FeedbackAlignment>(std::move(matrices));
  }

  ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>&) const override { return {}; }
  const std::string& rule() const override { return rule_; }

 private:
  bool direct_;
  std::string rule_;
  std::vector<std::pair<int, int>> shapes_;   // (rows, cols) of each layer's matrix; (0, 0) when unused
  std::vector<std::string> names_;
};

}  // namespace

std::shared_ptr<const RuleSpace> feedback_space(const MlpShape& shape, bool direct) {
  return std::make_shared<FeedbackSpace>(shape, direct);
}

RuleSpaceFactory feedback_space_factory(bool direct) {
  RuleSpaceFactory f;
  f.keys = {{"search_feedback", "feedback matrices to search"}};
  f.each_only = "searched feedback is an array space: use `each`";
  f.read = [](const ConfigNode& section) {
    const auto feedback = section.find("search_feedback");
    return feedback && feedback->as_bool() ? SpaceOptions{{"search_feedback", "true"}} : SpaceOptions{};
  };
  f.make = [direct](const SpaceOptions&, const ParamValues&, const MlpShape& shape) {
    return feedback_space(shape, direct);
  };
  return f;
}

}  // namespace plast
