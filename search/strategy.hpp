#pragma once
// The Strategy interface (DESIGN.md, "Central interfaces"): ask/tell with explicit state, in
// the style of evosax. A strategy is immutable (its hyper-parameters are fixed when it is
// built); everything that changes lives in its state, which is plain data that serializes
// exactly (the checkpoint). Every strategy minimizes. Randomness comes only from the
// RandomStream handed to ask(), keyed by (study seed, generation) by the caller.
//
// Typed state, as evosax's per-strategy state dataclasses: each strategy declares a struct of
// named, typed fields (SnesState, CmaState, ...) with one static `fields` function that lists
// them in checkpoint order:
//
//   struct SnesState {
//     Eigen::VectorXd mean, sigma;
//     std::int64_t generation = 0, evaluations = 0;
//     template <class S, class F> static void fields(S& s, F&& f) {
//       f("mean", s.mean); f("sigma", s.sigma); f("generation", s.generation); f("evaluations", s.evaluations);
//     }
//   };
//
// Saving, loading and comparing are derived from that one list, so they cannot disagree about
// which fields exist (a typo is a compile error, not a silently created key). Field types:
// double, std::int64_t, enums (stored as std::int64_t), Eigen::VectorXd, Eigen::MatrixXd.
// StrategyState is the type-erased value the study runner passes around (init, ask, tell,
// checkpoint save, resume through Strategy::load), so the runner stays generic.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <Eigen/Core>

#include "lib/random.hpp"

namespace plast {

// Writes fields in the checkpoint format (doubles as their bytes):
//   "PLSTST02" · strategy name · per field: name, type tag, [rows, [cols]], payload.
// All lengths and integers are 8-byte host-order words.
class StateWriter {
 public:
  explicit StateWriter(const std::string& strategy);
  void field(const char* name, double v);
  void field(const char* name, std::int64_t v);
  void field(const char* name, const Eigen::VectorXd& v);
  void field(const char* name, const Eigen::MatrixXd& m);
  template <class E>
    requires std::is_enum_v<E>
  void field(const char* name, E e) {
    field(name, static_cast<std::int64_t>(e));
  }
  std::string bytes() && { return std::move(out_); }

 private:
  void header(const char* name, char type);
  std::string out_;
};

// Reads a checkpoint of format 01 (before typed states: named double arrays and named integer
// counters), so that stores written by an older plast still resume and still give their final
// mean. Each field is looked up by its name, which is the old key; a scalar was a 1×1 array.
// Every old key must be used, and a missing one is an error unless the state allows it (the
// restart fields of a CMA-ES without restarts did not exist). Format 01 names no strategy, so
// only the fields tell families apart (cma_es and ipop_cma_es checkpoints look alike); a store
// names its strategy in its study, which is where such checkpoints come from.
class LegacyStateReader {
 public:
  static bool is_legacy(const std::string& bytes);
  LegacyStateReader(const std::string& bytes, const std::string& strategy);
  ~LegacyStateReader();
  void field(const char* name, double& v, bool optional);
  void field(const char* name, std::int64_t& v, bool optional);
  void field(const char* name, Eigen::VectorXd& v, bool optional);
  void field(const char* name, Eigen::MatrixXd& m, bool optional);
  template <class E>
    requires std::is_enum_v<E>
  void field(const char* name, E& e, bool optional) {
    auto v = static_cast<std::int64_t>(e);
    field(name, v, optional);
    e = static_cast<E>(v);
  }
  void finish() const;   // throws when an old key was not used

 private:
  struct Maps;
  const Eigen::MatrixXd* array(const char* name, bool optional);
  [[noreturn]] void corrupt(const std::string& what) const;
  std::unique_ptr<Maps> maps_;
  const std::string& strategy_;
};

// Reads what StateWriter wrote, checking the header, the strategy's name and every field's name,
// type and size; anything else throws plast::Error naming the strategy.
class StateReader {
 public:
  StateReader(const std::string& bytes, const std::string& strategy);
  void field(const char* name, double& v);
  void field(const char* name, std::int64_t& v);
  void field(const char* name, Eigen::VectorXd& v);
  void field(const char* name, Eigen::MatrixXd& m);
  template <class E>
    requires std::is_enum_v<E>
  void field(const char* name, E& e) {
    std::int64_t v = 0;
    field(name, v);
    e = static_cast<E>(v);
  }
  void finish() const;   // throws on trailing bytes

 private:
  void expect(const char* name, char type);
  std::uint64_t word();
  void need(std::uint64_t n) const;
  [[noreturn]] void corrupt(const std::string& what) const;
  const std::string& bytes_;
  const std::string& strategy_;
  std::size_t pos_ = 0;
};

// The state of one strategy: a typed struct behind a copyable value, tagged with the name of the
// strategy that made it. Copies share the (immutable) struct; tell() returns a new state.
class StrategyState {
 public:
  StrategyState() = default;   // empty: only to be assigned (init() or Strategy::load())
  template <class T>
  StrategyState(std::string strategy, T fields)
      : strategy_(std::move(strategy)), held_(std::make_shared<const Held<T>>(std::move(fields))) {}

  bool empty() const { return held_ == nullptr; }
  // The name of the strategy that made this state ("cma_es", "snes", ...).
  const std::string& strategy() const { return strategy_; }

  // The typed fields; throws plast::Error when the state holds another type.
  template <class T>
  const T& as() const {
    const auto* held = dynamic_cast<const Held<T>*>(held_.get());
    if (held == nullptr) wrong_type(typeid(T).name());
    return held->value;
  }
  // The same, and the state must come from `strategy` (cma_es and sep_cma_es share a type).
  template <class T>
  const T& as(const std::string& strategy) const {
    if (strategy != strategy_) wrong_strategy(strategy);
    return as<T>();
  }
  // A state of the same strategy with other fields (how a test sets up a particular state).
  template <class T>
  StrategyState with(T fields) const {
    return StrategyState(strategy_, std::move(fields));
  }

  // Exact binary form (doubles as their bytes): load(save(s)) == s, and save(load(b)) == b for
  // a format-02 b.
  std::string save() const;
  // The state of `strategy` from save()'s bytes; throws plast::Error when the bytes are
  // truncated or corrupt, or hold another strategy's state.
  template <class T>
  static StrategyState load(const std::string& bytes, const std::string& strategy) {
    T fields{};
    if (LegacyStateReader::is_legacy(bytes)) {
      LegacyStateReader r(bytes, strategy);
      T::fields(fields, [&r](const char* name, auto& v) { r.field(name, v, optional_before_02<T>(name)); });
      r.finish();
    } else {
      StateReader r(bytes, strategy);
      T::fields(fields, [&r](const char* name, auto& v) { r.field(name, v); });
      r.finish();
    }
    return StrategyState(strategy, std::move(fields));
  }
  // Bitwise equality of the saved forms: same strategy, same fields, same bits (NaN payloads
  // and signed zeros included).
  bool operator==(const StrategyState& other) const;

 private:
  struct Holder {
    virtual ~Holder() = default;
    virtual void write(StateWriter& w) const = 0;
  };
  template <class T>
  struct Held final : Holder {
    explicit Held(T v) : value(std::move(v)) {}
    void write(StateWriter& w) const override {
      T::fields(value, [&w](const char* name, const auto& v) { w.field(name, v); });
    }
    T value;
  };
  // Whether a format-01 checkpoint may lack the field (T::optional_before_02, if T has one).
  template <class T>
  static bool optional_before_02(const char* name) {
    if constexpr (requires { T::optional_before_02(name); }) return T::optional_before_02(name);
    return false;
  }
  [[noreturn]] void wrong_type(const char* type) const;
  [[noreturn]] void wrong_strategy(const std::string& strategy) const;

  std::string strategy_;
  std::shared_ptr<const Holder> held_;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The state at θ0 for a problem of dimension θ0.size().
  virtual StrategyState init(const Eigen::VectorXd& theta0) const = 0;
  // A population, one candidate per row (λ × n). Must not change the state.
  virtual Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const = 0;
  // The next state, given the population that ask() returned and its fitness (lower is
  // better; NaN ranks worst).
  virtual StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                             const Eigen::VectorXd& fitness) const = 0;
  // The current estimate of the optimum (the distribution mean for most strategies).
  virtual Eigen::VectorXd mean(const StrategyState& state) const = 0;
  // The overall step size σ, for the per-generation statistics.
  virtual double step_size(const StrategyState& state) const = 0;
  // A state from StrategyState::save()'s bytes (a checkpoint); throws plast::Error when they
  // are corrupt or another strategy's.
  virtual StrategyState load(const std::string& bytes) const = 0;
};

// A strategy whose state is the struct `State`: load() and checked access in one place.
template <class State>
class TypedStrategy : public Strategy {
 public:
  StrategyState load(const std::string& bytes) const override { return StrategyState::load<State>(bytes, name()); }

 protected:
  // The typed fields of a state this strategy made (plast::Error for any other).
  const State& fields_of(const StrategyState& state) const { return state.as<State>(name()); }
  StrategyState make_state(State fields) const { return StrategyState(name(), std::move(fields)); }
};

}  // namespace plast
