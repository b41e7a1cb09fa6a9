// The strategy contract (DESIGN.md, "Conventions worth copying", evosax's convention): every
// entry of strategy_registry() is built from its defaults and checked for what the study runner
// relies on — ask() is a pure function of (state, key), the state checkpoints bitwise, NaN
// fitness (a diverged student) is survived, the strategy actually minimizes, and its typed state
// refuses another strategy's checkpoint or a damaged one with one exact message. A strategy is
// tested here the moment it is registered.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>

#include "lib/error.hpp"
#include "search/registry.hpp"
#include "search/test_functions.hpp"

using namespace plast;

namespace {

constexpr int kDim = 5;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

Eigen::VectorXd start_point() {
  Eigen::VectorXd x0(kDim);
  x0 << 0.5, -1.0, 2.0, 0.0, 1.5;
  return x0;
}

bool bitwise_equal(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

Eigen::VectorXd sphere_fitness(const Eigen::MatrixXd& pop) {
  Eigen::VectorXd f(pop.rows());
  for (Eigen::Index i = 0; i < pop.rows(); ++i) f(i) = sphere(pop.row(i).transpose());
  return f;
}

void check_round_trip(const Strategy& s, const StrategyState& state) {
  const std::string bytes = state.save();
  const StrategyState loaded = s.load(bytes);
  CHECK(loaded == state);
  CHECK(loaded.save() == bytes);
  CHECK(loaded.strategy() == s.name());
}

// The state after `generations` ask/tell steps on the sphere from start_point().
StrategyState state_after(const Strategy& s, int generations) {
  StrategyState state = s.init(start_point());
  for (int gen = 0; gen < generations; ++gen) {
    RandomStream rng(5, Purpose::strategy, {static_cast<std::uint64_t>(gen)});
    const Eigen::MatrixXd pop = s.ask(state, rng);
    state = s.tell(state, pop, sphere_fitness(pop));
  }
  return state;
}

// The message of the plast::Error that `f` throws ("<no error>" when it returns).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_SUITE("search/contract") {

TEST_CASE("the registry holds every strategy family under unique names, with summaries and sane parameters") {
  const auto& reg = strategy_registry();
  CHECK(reg.kind() == "strategy");
  for (const char* name : {"snes", "xnes", "openai_es", "pgpe", "random_search"}) {
    CAPTURE(name);
    CHECK(reg.contains(name));
  }
  std::set<std::string> seen;
  for (const auto& e : reg.entries()) {
    CAPTURE(e.name);
    CHECK(seen.insert(e.name).second);
    CHECK_FALSE(e.summary.empty());
    std::set<std::string> params;
    for (const auto& p : e.params) {
      CAPTURE(p.name);
      CHECK(params.insert(p.name).second);
      if (p.derived) {   // the "derive it" marker must be a value no study can give
        CHECK_FALSE((p.min <= p.default_value && p.default_value <= p.max));
      } else {
        CHECK(p.min <= p.default_value);
        CHECK(p.default_value <= p.max);
      }
      CHECK_FALSE(p.help.empty());
      if (p.integer) CHECK(p.default_value == std::floor(p.default_value));
    }
    const auto strategy = reg.make(e.name);
    REQUIRE(strategy != nullptr);
    CHECK(strategy->name() == e.name);
  }
}

TEST_CASE("unknown strategies and parameters are one-line errors") {
  const auto& reg = strategy_registry();
  const std::string msg = [&] {
    try {
      reg.make("snse");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  }();
  CHECK(msg.find("unknown strategy 'snse'") != std::string::npos);
  CHECK(msg.find("snes") != std::string::npos);
  CHECK_THROWS_AS(reg.make("snes", {{"sigma_0", 1.0}}), Error);
  CHECK_THROWS_AS(reg.make("snes", {{"sigma0", -1.0}}), InvalidValue);
  CHECK_THROWS_AS(reg.make("openai_es", {{"population", 7}}), InvalidValue);
  CHECK_THROWS_AS(reg.make("pgpe", {{"population", 5}}), InvalidValue);
}

TEST_CASE("ask is a pure function of (state, key): same key, same population; the state is untouched") {
  for (const auto& entry : strategy_registry().entries()) {
    CAPTURE(entry.name);
    const auto s = strategy_registry().make(entry.name);
    StrategyState state = s->init(start_point());
    CHECK(bitwise_equal(s->mean(state), start_point()));
    CHECK(std::isfinite(s->step_size(state)));
    CHECK(s->step_size(state) > 0.0);
    for (int gen = 0; gen < 3; ++gen) {
      CAPTURE(gen);
      const StrategyState before = state;
      RandomStream a(42, Purpose::strategy, {static_cast<std::uint64_t>(gen)});
      RandomStream b(42, Purpose::strategy, {static_cast<std::uint64_t>(gen)});
      const Eigen::MatrixXd pop_a = s->ask(state, a);
      const Eigen::MatrixXd pop_b = s->ask(state, b);
      CHECK(state == before);
      REQUIRE(pop_a.cols() == kDim);
      REQUIRE(pop_a.rows() >= 2);
      CHECK(bitwise_equal(pop_a, pop_b));
      CHECK(pop_a.allFinite());
      // Another key gives another population.
      RandomStream c(43, Purpose::strategy, {static_cast<std::uint64_t>(gen)});
      CHECK_FALSE(bitwise_equal(pop_a, s->ask(state, c)));
      state = s->tell(state, pop_a, sphere_fitness(pop_a));
    }
  }
}

TEST_CASE("the state after tell round-trips save/load bitwise, and a resumed run equals an uninterrupted one") {
  for (const auto& entry : strategy_registry().entries()) {
    CAPTURE(entry.name);
    const auto s = strategy_registry().make(entry.name);
    StrategyState straight = s->init(start_point());
    check_round_trip(*s, straight);
    StrategyState resumed = s->load(straight.save());
    for (std::uint64_t gen = 0; gen < 6; ++gen) {
      CAPTURE(gen);
      RandomStream rng(7, Purpose::strategy, {gen});
      const Eigen::MatrixXd pop = s->ask(straight, rng);
      straight = s->tell(straight, pop, sphere_fitness(pop));
      check_round_trip(*s, straight);
      // The same generation from a checkpoint: load, ask with the same key, tell, save.
      RandomStream rng2(7, Purpose::strategy, {gen});
      const StrategyState loaded = s->load(resumed.save());
      const Eigen::MatrixXd pop2 = s->ask(loaded, rng2);
      CHECK(bitwise_equal(pop, pop2));
      resumed = s->tell(loaded, pop2, sphere_fitness(pop2));
      CHECK(resumed == straight);
    }
  }
}

TEST_CASE("NaN fitness does not crash tell and leaves a finite mean and step size") {
  for (const auto& entry : strategy_registry().entries()) {
    CAPTURE(entry.name);
    const auto s = strategy_registry().make(entry.name);
    StrategyState state = s->init(start_point());
    for (std::uint64_t gen = 0; gen < 10; ++gen) {
      CAPTURE(gen);
      RandomStream rng(3, Purpose::strategy, {gen});
      const Eigen::MatrixXd pop = s->ask(state, rng);
      Eigen::VectorXd f = sphere_fitness(pop);
      if (gen == 4) {
        f.setConstant(kNaN);   // a generation where every student diverged
      } else {
        f(0) = kNaN;           // and ones with some diverged students
        if (gen % 2 == 1) f(f.size() - 1) = kNaN;
      }
      REQUIRE_NOTHROW(state = s->tell(state, pop, f));
      CHECK(s->mean(state).allFinite());
      CHECK(std::isfinite(s->step_size(state)));
      CHECK(s->step_size(state) > 0.0);
      check_round_trip(*s, state);
    }
  }
}

TEST_CASE("every strategy, from its defaults, improves a 5-d sphere from (1, …, 1) tenfold within 3000 evaluations") {
  const Eigen::VectorXd x0 = Eigen::VectorXd::Ones(kDim);
  const double f0 = sphere(x0);
  for (const auto& entry : strategy_registry().entries()) {
    CAPTURE(entry.name);
    const auto s = strategy_registry().make(entry.name);
    const MinimizeResult r = minimize(*s, sphere, x0, f0 / 10.0, 3000, 1);
    CAPTURE(r.evaluations);
    CAPTURE(r.best);
    CHECK(r.reached);
    CHECK(r.best < f0 / 10.0);
  }
}

TEST_CASE("after a few generations the typed state round-trips save/load exactly, and loading keeps the bits") {
  for (const auto& entry : strategy_registry().entries()) {
    CAPTURE(entry.name);
    const auto s = strategy_registry().make(entry.name);
    const StrategyState state = state_after(*s, 4);
    check_round_trip(*s, state);
    const StrategyState loaded = s->load(state.save());
    CHECK(bitwise_equal(s->mean(loaded), s->mean(state)));
    const double a = s->step_size(loaded), b = s->step_size(state);
    CHECK(std::memcmp(&a, &b, sizeof a) == 0);
    // A state is not equal to an earlier one of the same run.
    CHECK_FALSE(state == state_after(*s, 3));
  }
}

TEST_CASE("a checkpoint of another strategy is refused by load() and by ask/tell/mean, with one exact message") {
  const auto& reg = strategy_registry();
  for (const auto& from : reg.entries()) {
    const StrategyState state = state_after(*reg.make(from.name), 2);
    const std::string bytes = state.save();
    for (const auto& to : reg.entries()) {
      if (to.name == from.name) continue;
      CAPTURE(from.name);
      CAPTURE(to.name);
      const auto s = reg.make(to.name);
      CHECK(error_of([&] { s->load(bytes); }) ==
            "strategy checkpoint holds the state of " + from.name + ", not of " + to.name);
      const std::string given = to.name + ": given a state of " + from.name;
      RandomStream rng(1, Purpose::strategy, {0});
      CHECK(error_of([&] { s->ask(state, rng); }) == given);
      CHECK(error_of([&] { s->mean(state); }) == given);
      CHECK(error_of([&] { s->step_size(state); }) == given);
      const Eigen::MatrixXd pop = Eigen::MatrixXd::Zero(4, kDim);
      CHECK(error_of([&] { s->tell(state, pop, Eigen::VectorXd::Zero(4)); }) == given);
    }
  }
}

TEST_CASE("a checkpoint cut anywhere, or otherwise damaged, is refused with one exact message") {
  for (const auto& entry : strategy_registry().entries()) {
    CAPTURE(entry.name);
    const auto s = strategy_registry().make(entry.name);
    const std::string bytes = state_after(*s, 2).save();
    const std::string truncated = "strategy checkpoint of " + entry.name + " is truncated or corrupt";
    // Every cut: inside the header, the strategy's name, a field's name, a size or the data.
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      CAPTURE(cut);
      REQUIRE(error_of([&] { s->load(bytes.substr(0, cut)); }) == truncated);
    }
    CHECK(error_of([&] { s->load(bytes + std::string(1, '\0')); }) ==
          "strategy checkpoint of " + entry.name + " is corrupt: trailing bytes after the last field");
    std::string bad_header = bytes;
    bad_header[0] = 'X';
    const std::string not_plast = "strategy checkpoint has a wrong header (not a plast checkpoint)";
    CHECK(error_of([&] { s->load(bad_header); }) == not_plast);
    CHECK(error_of([&] { s->load("garbage"); }) == not_plast);
    std::string bad_version = bytes;
    bad_version[7] = static_cast<char>(bad_version[7] + 1);
    CHECK(error_of([&] { s->load(bad_version); }) ==
          "strategy checkpoint has format version 03; this plast reads 01 and 02");
    // The strategy's name length blown up to something impossible.
    std::string huge = bytes;
    for (std::size_t i = 8; i < 16; ++i) huge[i] = static_cast<char>(0xff);
    CHECK(error_of([&] { s->load(huge); }) == truncated);
    // The first field's name changed: a state of another layout is refused by name.
    std::string renamed = bytes;
    const std::size_t first_field_name = 8 + 8 + entry.name.size() + 8;
    renamed[first_field_name] = '#';
    CHECK(error_of([&] { s->load(renamed); }).rfind("strategy checkpoint of " + entry.name + " is corrupt: expected the ", 0) == 0);
  }
  // A state nobody made.
  CHECK(error_of([] { StrategyState().save(); }) ==
        "an empty strategy state cannot be saved (neither init() nor load() made it)");
}

}  // TEST_SUITE
