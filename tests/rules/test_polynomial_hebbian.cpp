// Polynomial Hebbian rules: term naming, Oja's rule as the default against a hand-computed
// update, and the PCA task on which Oja's rule is the known answer.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <set>

#include "lib/train.hpp"
#include "rules/polynomial_hebbian.hpp"
#include "rules/registry.hpp"
#include "tasks/pca.hpp"
#include "tasks/registry.hpp"

using namespace plast;

namespace {

// Mean PCA loss over `tasks` meta-test tasks of a rule with the given coefficients.
double mean_pca_loss(const ParamValues& theta, int tasks) {
  const auto family = task_registry().make("pca");
  const auto rule = rule_registry().make("polynomial_hebbian", theta);
  OptimizerSpec sgd{.type = "sgd", .lr = 0.02};
  TrainBudget budget;
  budget.epochs = 1;
  budget.batch = 1;
  budget.eval_every = 1000;
  std::vector<double> losses(static_cast<std::size_t>(tasks));
  tbb::parallel_for(0, tasks, [&](int i) {
    const Task task = family->sample(5, static_cast<std::uint64_t>(i), Split::meta_test);
    Student s = make_student(task, StudentSpec{.hidden = {}, .activation = Activation::linear}, *rule, sgd, 1,
                             static_cast<std::uint64_t>(i));
    const TrainResult r = train(s, *rule, task, budget);
    losses[static_cast<std::size_t>(i)] = r.outcome == Outcome::ok ? r.last().test_loss : 1e9;
  });
  double sum = 0.0;
  for (double l : losses) sum += std::isfinite(l) ? l : 1e9;
  return sum / tasks;
}

}  // namespace

TEST_SUITE("rules/polynomial_hebbian") {
  TEST_CASE("the 27 monomials have readable, unique names") {
    CHECK(PolynomialHebbian::term_name(0, 0, 0) == "1");
    CHECK(PolynomialHebbian::term_name(1, 1, 0) == "pre*post");
    CHECK(PolynomialHebbian::term_name(0, 2, 1) == "post^2*w");
    CHECK(PolynomialHebbian::term_name(2, 1, 2) == "pre^2*post*w^2");
    std::set<std::string> names;
    for (const auto& p : PolynomialHebbian::params(false))
      if (p.coefficient) names.insert(p.name);
    CHECK(names.size() == 27);
    std::set<std::string> taylor;
    for (const auto& p : PolynomialHebbian::params(true))
      if (p.coefficient) taylor.insert(p.name);
    CHECK(taylor.size() == 54);
    CHECK(taylor.count("pre*post^2*w*m") == 1);
  }

  TEST_CASE("the defaults are Oja's rule: Δw = y (x − y w), averaged over the batch") {
    const auto rule = rule_registry().make("polynomial_hebbian");
    Mlp net(MlpShape{{3, 2}, Activation::linear, Activation::linear});
    net.weight(0) << 0.5f, -0.25f, 1.0f, 0.2f, 0.3f, -0.4f;
    Matrix x(2, 3);
    x << 1.0f, 2.0f, -1.0f, 0.5f, -0.5f, 2.0f;
    ForwardCache cache(net.shape(), 2);
    forward(net, x, cache);
    auto state = rule->make_state(net, 2, RandomStream(1, Purpose::feedback));
    Gradients g = Gradients::like(net);
    const Matrix delta = Matrix::Zero(2, 2), y = Matrix::Zero(2, 2);
    const Eigen::Ref<const Matrix> d(delta), t(y);
    rule->compute_update(StepSignals{net, cache, d, t, 0}, *state, g);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        double expected = 0.0;   // Σ_n y_ni (x_nj − y_ni w_ij) / 2
        for (int n = 0; n < 2; ++n) {
          double yi = 0.0;
          for (int k = 0; k < 3; ++k) yi += net.weight(0)(i, k) * x(n, k);
          expected += yi * (x(n, j) - yi * net.weight(0)(i, j)) / 2.0;
        }
        CHECK(-g.dW[0](i, j) == doctest::Approx(expected).epsilon(1e-5));
      }
    CHECK(g.db[0].isZero());
  }

  TEST_CASE("only listed coefficients act: a constant term moves every weight equally") {
    ParamValues theta;
    for (const auto& p : PolynomialHebbian::params(false))
      if (p.coefficient) theta[p.name] = 0.0;
    theta["1"] = 0.5;
    const auto rule = rule_registry().make("polynomial_hebbian", theta);
    Mlp net(MlpShape{{4, 3}, Activation::tanh, Activation::linear});
    ForwardCache cache(net.shape(), 5);
    forward(net, Matrix::Ones(5, 4), cache);
    auto state = rule->make_state(net, 5, RandomStream(1, Purpose::feedback));
    Gradients g = Gradients::like(net);
    const Matrix delta = Matrix::Zero(5, 3);
    const Eigen::Ref<const Matrix> d(delta), t(delta);
    rule->compute_update(StepSignals{net, cache, d, t, 0}, *state, g);
    CHECK((g.dW[0].array() == -0.5f).all());
  }
}

TEST_SUITE("tasks/pca") {
  TEST_CASE("the loss is 0 at ±PC1, 1 at twice PC1, and counts the angle") {
    Eigen::VectorXd pc = Eigen::VectorXd::Zero(3);
    pc(1) = 1.0;
    CHECK(pca_loss(pc, pc) == doctest::Approx(0.0));
    CHECK(pca_loss(-pc, pc) == doctest::Approx(0.0));
    CHECK(pca_loss(2.0 * pc, pc) == doctest::Approx(1.0));
    Eigen::VectorXd orth = Eigen::VectorXd::Zero(3);
    orth(0) = 1.0;
    CHECK(pca_loss(orth, pc) == doctest::Approx(1.0));
  }

  TEST_CASE("tasks differ in rotation, scale and mean, and are reproducible") {
    const auto family = task_registry().make("pca");
    const Task a = family->sample(1, 0, Split::meta_train), b = family->sample(1, 1, Split::meta_train);
    const Task again = family->sample(1, 0, Split::meta_train);
    CHECK((a.train->x.array() == again.train->x.array()).all());
    CHECK_FALSE((a.train->x.array() == b.train->x.array()).all());
    CHECK(a.train->size() == 1000);
    CHECK(a.input_size == 10);
  }

  TEST_CASE("Oja's rule finds PC1 (η = 0.02, 1000 steps); plain Hebb and anti-Oja do not") {
    const double oja = mean_pca_loss({{"pre*post", 1.0}, {"post^2*w", -1.0}}, 8);
    const double hebb = mean_pca_loss({{"pre*post", 1.0}, {"post^2*w", 0.0}}, 8);
    const double wrong_sign = mean_pca_loss({{"pre*post", 1.0}, {"post^2*w", 1.0}}, 8);
    MESSAGE("mean PCA loss over 8 held-out tasks: Oja " << oja << ", Hebb " << hebb << ", pre*post + post^2*w "
                                                         << wrong_sign);
    CHECK(oja < 0.05);
    CHECK(hebb > 10 * oja);
    CHECK(wrong_sign > 10 * oja);
  }
}
