// The "pre-trained on pooled meta-train tasks, then fine-tuned" baseline (search/pretrain.hpp):
// on sinusoids of random phase the pooled network learns the family's mean function, so before
// any fine-tuning it already beats a random initialization on held-out tasks; it is
// deterministic; bad options and control tasks are refused with one line.
#include <doctest/doctest.h>

#include <string>

#include "lib/error.hpp"
#include "rules/meta_sgd.hpp"
#include "search/pretrain.hpp"
#include "search/study.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

StudySpec sinusoid_study(const std::string& task = "sinusoid") {
  return load_study(ConfigNode::load_string(
      "kind: search\nname: p\nseed: 4\nrule: {type: meta_sgd, learn: init, each: {init: 0, lower: -5, upper: 5}}\n"
      "task: {type: " + task + ", samples: 4, held_out: 64}\noptimizer: {type: sgd, lr: 0.01}\n"
      "training: {epochs: 1, batch: 10}\nstrategy: {type: openai_es}\n",
      "p.yaml"));
}

}  // namespace

TEST_SUITE("search/pretrain") {
  TEST_CASE("the pooled network beats a random initialization on held-out sinusoids before fine-tuning") {
    StudySpec spec = sinusoid_study();
    spec.evaluation.budget.max_steps = 1;
    spec.evaluation.optimizer.lr = 1e-9;   // one step that changes nothing: the initialization alone
    const PretrainOptions options{.tasks = 200, .epochs = 10};
    const auto pretrained = pretrained_learner(spec, options);
    const double pooled = held_out(spec, pretrained, spec.held_out).loss;
    const double random = held_out_score(spec, Eigen::VectorXd::Zero(spec.evaluation.space->dimension()), spec.held_out);
    CAPTURE(pooled);
    CAPTURE(random);
    // Losses are ½·MSE; the mean wave y = −(2/π)·E[A]·cos x explains part of every task.
    CHECK(pooled < 0.8 * random);
    // Deterministic: the same study gives the same network.
    const auto again = pretrained_learner(spec, options);
    const auto& a = dynamic_cast<const MetaSgd&>(*pretrained).initial();
    const auto& b = dynamic_cast<const MetaSgd&>(*again).initial();
    for (int l = 0; l < a.num_layers(); ++l) CHECK(a.weight(l) == b.weight(l));
  }

  TEST_CASE("bad options and tasks without data are refused with one line") {
    const StudySpec spec = sinusoid_study();
    CHECK(test::error_message([&] { pretrained_learner(spec, {.tasks = 0}); }) == "pretrain tasks = 0: must be >= 1");
    CHECK(test::error_message([&] { pretrained_learner(spec, {.epochs = 0}); }) == "pretrain epochs = 0: must be >= 1");
  }
}
