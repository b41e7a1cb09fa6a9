// The first rediscovery (studies/oja.yaml): CMA-ES from θ = 0 finds Oja's rule — the ratio
// −θ(post²·w)/θ(pre·post) within [0.9, 1.1] in at least 4 of 5 seeds, and a held-out score
// within 10% of Oja's rule at the same η. Only the ratio is identifiable (it sets ‖w‖ = 1);
// the scale acts as a learning rate, so "the same η" compares with Oja's rule at the found
// scale, θ = (s, −s) with s = θ(pre·post). Oja's rule at θ = (1, −1) is printed beside it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "search/study.hpp"

using namespace plast;

TEST_SUITE("slow") {
  TEST_CASE("Oja rediscovery: studies/oja.yaml over seeds 1-5") {
    std::ifstream in(std::string(PLAST_SOURCE_DIR) + "/studies/oja.yaml");
    std::stringstream text;
    text << in.rdbuf();
    const std::string base = text.str();
    int good_ratio = 0, good_score = 0;
    for (int seed = 1; seed <= 5; ++seed) {
      std::string yaml = base;
      yaml.replace(yaml.find("seed: 1\n"), 8, "seed: " + std::to_string(seed) + "\n");
      const std::string store = (std::filesystem::temp_directory_path() /
                                 ("plast-oja-" + std::to_string(getpid()) + "-" + std::to_string(seed) + ".sqlite"))
                                    .string();
      std::filesystem::remove(store);
      yaml.replace(yaml.find("store: out/oja.sqlite"), 21, "store: " + store);
      const StudySpec spec = load_study(ConfigNode::load_string(yaml, "oja.yaml"));
      const StudySummary s = run_study(spec, false);
      std::filesystem::remove(store);
      const double scale = s.best_theta(0), ratio = -s.best_theta(1) / s.best_theta(0);
      Eigen::VectorXd oja_same(2), oja_unit(2);
      oja_same << scale, -scale;
      oja_unit << 1.0, -1.0;
      const double found = s.held_out_score, same = held_out_score(spec, oja_same, spec.held_out),
                   unit = held_out_score(spec, oja_unit, spec.held_out);
      MESSAGE("seed " << seed << ": θ = (" << s.best_theta(0) << ", " << s.best_theta(1) << "), ratio " << ratio
                      << ", held-out " << found << " vs Oja at the same η " << same << " (Oja θ=(1,-1): " << unit
                      << "), " << s.wall_seconds << " s");
      good_ratio += ratio >= 0.9 && ratio <= 1.1;
      good_score += found <= 1.1 * same;
    }
    CHECK(good_ratio >= 4);
    CHECK(good_score >= 4);
  }
}
