// The SQLite study store (lib/store.hpp): everything written reads back bit for bit, every
// bad file or bad commit ends in one exact plast::Error line, a failed commit changes nothing,
// and a writer killed with SIGKILL in the middle of its commits leaves a store that opens and
// holds a complete prefix of generations (DESIGN.md, "Contracts: Errors").
#include <doctest/doctest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "lib/error.hpp"
#include "lib/store.hpp"

using plast::CandidateRecord;
using plast::Checkpoint;
using plast::GenerationRecord;
using plast::Store;
using plast::StudyRecord;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The message of the plast::Error that `f` throws ("<no error>" if none).
template <typename F>
std::string store_error(F&& f) {
  try {
    f();
  } catch (const plast::Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::string data_file(const std::string& name) { return std::string(PLAST_TEST_DATA) + "/store/" + name; }

// A scratch folder under /tmp, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "plast-store-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Runs SQL on a file directly, bypassing Store (to make foreign databases or tamper with a store).
void run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  INFO(sql << ": " << text);
  REQUIRE(rc == SQLITE_OK);
}

// The first column of every row of a query, as text (NULL as "NULL").
std::vector<std::string> query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    rows.emplace_back(p != nullptr ? p : "NULL");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }
double from_bits(std::uint64_t b) { return std::bit_cast<double>(b); }

// Doubles that lose something on any inexact path: signed zero, subnormals, the extremes,
// infinities and NaNs with payloads and either sign.
const std::vector<double>& awkward_doubles() {
  static const std::vector<double> values{
      -0.0,
      0.1,
      std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::denorm_min() * 3,
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      kInf,
      -kInf,
      from_bits(0x7ff8000000000123ull),   // quiet NaN with a payload
      from_bits(0xfff0000000000001ull),   // negative signalling NaN
      1.0,
      -2.0,
  };
  return values;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (bits(a[i]) != bits(b[i])) return false;
  return true;
}

void check_same(const CandidateRecord& got, const CandidateRecord& want) {
  INFO("generation " << want.generation << " member " << want.member);
  CHECK(got.generation == want.generation);
  CHECK(got.member == want.member);
  CHECK(same_bits(got.theta, want.theta));
  CHECK(bits(got.fitness) == bits(want.fitness));
  CHECK(got.status == want.status);
}

void check_same(const GenerationRecord& got, const GenerationRecord& want) {
  INFO("generation " << want.generation);
  CHECK(got.generation == want.generation);
  CHECK(bits(got.best) == bits(want.best));
  CHECK(bits(got.mean) == bits(want.mean));
  CHECK(bits(got.median) == bits(want.median));
  CHECK(bits(got.step_size) == bits(want.step_size));
  CHECK(got.evaluations == want.evaluations);
  CHECK(got.diverged == want.diverged);
  CHECK(bits(got.wall_seconds) == bits(want.wall_seconds));
}

void check_same(const Checkpoint& got, const Checkpoint& want) {
  CHECK(got.next_generation == want.next_generation);
  CHECK(got.strategy_state == want.strategy_state);
  CHECK(same_bits(got.best_theta, want.best_theta));
  CHECK(bits(got.best_fitness) == bits(want.best_fitness));
  CHECK(got.evaluations == want.evaluations);
  CHECK(got.diverged == want.diverged);
  CHECK(bits(got.wall_seconds) == bits(want.wall_seconds));
}

StudyRecord make_study(std::size_t params = 4) {
  StudyRecord s;
  s.name = "oja-search ü";
  s.yaml = "name: oja-search\nseed: 18446744073709551615\nstrategy:\n  type: cma_es\n";
  s.yaml_hash = "sha256:0123abcd";
  s.seed = 18446744073709551615ull;   // all 64 bits
  for (std::size_t i = 0; i < params; ++i) s.param_names.push_back("theta." + std::to_string(i));
  return s;
}

// One whole generation, a pure function of (g, members, params), so a reader can check what a
// killed writer committed. Values include the awkward doubles; the state includes zero bytes.
struct Generation {
  GenerationRecord stats;
  std::vector<CandidateRecord> candidates;
  Checkpoint checkpoint;
};

Generation make_generation(std::int64_t g, int members = 5, std::size_t params = 4, std::size_t state_bytes = 300) {
  const auto& awkward = awkward_doubles();
  Generation gen;
  for (int m = 0; m < members; ++m) {
    CandidateRecord c;
    c.generation = g;
    c.member = m;
    for (std::size_t p = 0; p < params; ++p) {
      const std::size_t i = static_cast<std::size_t>(g) * 7 + static_cast<std::size_t>(m) * 3 + p;
      c.theta.push_back(i % 2 == 0 ? awkward[(i / 2) % awkward.size()] : static_cast<double>(i) * 0.01);
    }
    c.fitness = m == 1 ? kInf : m == 2 ? from_bits(0x7ff8000000000042ull) : m == 3 ? -0.0 : 1.0 / (1.0 + g + m);
    c.status = m == 1 ? "diverged" : m == 2 ? "timed_out" : "ok";
    gen.candidates.push_back(c);
  }
  gen.stats.generation = g;
  gen.stats.best = 1.0 / (1.0 + g);
  gen.stats.mean = g % 2 == 0 ? kInf : from_bits(0x7ff8000000000007ull);
  gen.stats.median = -0.0;
  gen.stats.step_size = 0.5 / (1.0 + g);
  gen.stats.evaluations = members;
  gen.stats.diverged = 1;
  gen.stats.wall_seconds = 0.125 * static_cast<double>(g + 1);
  gen.checkpoint.next_generation = g + 1;
  // Every byte value, zero bytes included, repeated (cheaply: the kill test builds megabytes).
  std::string block(256, '\0');
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>((i * 37 + static_cast<std::size_t>(g)) % 256);
  block[0] = '\0';
  while (gen.checkpoint.strategy_state.size() < state_bytes) gen.checkpoint.strategy_state += block;
  gen.checkpoint.strategy_state.resize(state_bytes);
  gen.checkpoint.best_theta = gen.candidates.front().theta;
  gen.checkpoint.best_fitness = gen.stats.best;
  gen.checkpoint.evaluations = (g + 1) * members;
  gen.checkpoint.diverged = g + 1;
  gen.checkpoint.wall_seconds = 0.125 * static_cast<double>((g + 1) * (g + 2) / 2);
  return gen;
}

void commit(Store& store, const Generation& gen) {
  store.commit_generation(gen.stats, gen.candidates, gen.checkpoint);
}

// The store holds exactly generations 0..k-1 as make_generation made them, and the checkpoint of k-1.
void check_prefix(const Store& store, std::int64_t k, int members = 5, std::size_t params = 4,
                  std::size_t state_bytes = 300) {
  const auto generations = store.generations();
  const auto candidates = store.candidates();
  REQUIRE(generations.size() == static_cast<std::size_t>(k));
  REQUIRE(candidates.size() == static_cast<std::size_t>(k * members));
  CHECK(store.next_generation() == k);
  for (std::int64_t g = 0; g < k; ++g) {
    const auto want = make_generation(g, members, params, state_bytes);
    check_same(generations[static_cast<std::size_t>(g)], want.stats);
    for (int m = 0; m < members; ++m)
      check_same(candidates[static_cast<std::size_t>(g * members + m)], want.candidates[static_cast<std::size_t>(m)]);
  }
  const auto cp = store.checkpoint();
  if (k == 0) {
    CHECK_FALSE(cp.has_value());
  } else {
    REQUIRE(cp.has_value());
    check_same(*cp, make_generation(k - 1, members, params, state_bytes).checkpoint);
  }
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_SUITE("lib/store") {

TEST_CASE("create and open round-trip the study record") {
  TempDir dir;
  const std::string path = dir.file("study.db");
  const StudyRecord study = make_study();
  {
    Store store = Store::create(path, study);
    CHECK(store.path() == path);
    CHECK(store.study() == study);
    CHECK(store.next_generation() == 0);
    CHECK_FALSE(store.checkpoint().has_value());
    CHECK(store.generations().empty());
    CHECK(store.candidates().empty());
  }
  const Store store = Store::open(path);
  CHECK(store.path() == path);
  CHECK(store.study() == study);
  CHECK(store.study().seed == 18446744073709551615ull);
  CHECK(store.next_generation() == 0);
  CHECK_FALSE(store.checkpoint().has_value());
  store.verify();
  // One self-contained file: no journal is left next to it.
  CHECK_FALSE(std::filesystem::exists(path + "-journal"));
  CHECK(query(path, "SELECT value FROM meta WHERE key = 'format'") == std::vector<std::string>{"plast-study-store"});
  CHECK(query(path, "SELECT value FROM meta WHERE key = 'version'") == std::vector<std::string>{"1"});
  CHECK(query(path, "PRAGMA journal_mode") == std::vector<std::string>{"delete"});
}

TEST_CASE("a study without parameters and with empty strings round-trips") {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  StudyRecord study;   // all empty, seed 0
  Store::create(path, study);
  Store store = Store::open(path);
  CHECK(store.study() == study);
  Generation gen = make_generation(0, 2, 0, 0);
  commit(store, gen);
  check_prefix(Store::open(path), 1, 2, 0, 0);
  CHECK(Store::open(path).checkpoint()->strategy_state.empty());
}

TEST_CASE("three generations read back bit for bit") {
  TempDir dir;
  const std::string path = dir.file("three.db");
  {
    Store store = Store::create(path, make_study());
    for (int g = 0; g < 3; ++g) {
      commit(store, make_generation(g));
      CHECK(store.next_generation() == g + 1);
    }
    check_prefix(store, 3);
  }
  const Store store = Store::open(path);
  check_prefix(store, 3);
  for (int g = 0; g < 3; ++g) {
    const auto got = store.candidates(g);
    const auto want = make_generation(g).candidates;
    REQUIRE(got.size() == want.size());
    for (std::size_t m = 0; m < got.size(); ++m) check_same(got[m], want[m]);
  }
  CHECK(store.candidates(3).empty());

  // The awkward values really are in there: every one of them appears in some θ.
  std::vector<std::uint64_t> seen;
  for (const auto& c : store.candidates())
    for (double x : c.theta) seen.push_back(bits(x));
  for (double x : awkward_doubles()) CHECK(std::find(seen.begin(), seen.end(), bits(x)) != seen.end());
  // The state kept its zero bytes and every byte value.
  const auto cp = store.checkpoint();
  REQUIRE(cp.has_value());
  CHECK(cp->strategy_state.size() == 300);
  CHECK(cp->strategy_state[0] == '\0');

  // For SQL users: fitness is a number except NaN (a BLOB of its bits); only the latest
  // checkpoint keeps its strategy state.
  CHECK(query(path, "SELECT typeof(fitness) FROM candidates WHERE generation = 0 ORDER BY member") ==
        std::vector<std::string>{"real", "real", "blob", "real", "real"});
  CHECK(query(path, "SELECT strategy_state IS NULL FROM checkpoints ORDER BY next_generation") ==
        std::vector<std::string>{"1", "1", "0"});
  store.verify();
}

TEST_CASE("create refuses an existing file, and accepts an empty one") {
  TempDir dir;
  const std::string path = dir.file("taken.db");
  Store::create(path, make_study());
  CHECK(store_error([&] { Store::create(path, make_study()); }) ==
        path + ": already exists (use --resume to continue it, or remove it)");
  const std::string text = dir.file("notes.txt");
  write_file(text, "keep me\n");
  CHECK(store_error([&] { Store::create(text, make_study()); }) ==
        text + ": already exists (use --resume to continue it, or remove it)");
  std::ifstream in(text);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "keep me\n");   // untouched

  const std::string empty = dir.file("empty.db");
  write_file(empty, "");
  Store::create(empty, make_study());
  CHECK(Store::open(empty).study() == make_study());

  CHECK(store_error([&] { Store::create(dir.path.string(), make_study()); }) ==
        dir.path.string() + ": is a directory, not a store file");
  CHECK(store_error([&] { Store::create("", make_study()); }) == "the store path is empty");
  const std::string nowhere = dir.file("no/such/folder/x.db");
  CHECK(store_error([&] { Store::create(nowhere, make_study()); }) ==
        nowhere + ": cannot create store (unable to open database file)");
  CHECK_FALSE(std::filesystem::exists(nowhere));
}

TEST_CASE("open names what is wrong with a file that is not a usable store") {
  TempDir dir;
  const std::string missing = dir.file("missing.db");
  CHECK(store_error([&] { Store::open(missing); }) == missing + ": no such store");
  CHECK(store_error([&] { Store::open(""); }) == "the store path is empty");
  CHECK_FALSE(std::filesystem::exists(missing));   // open never creates

  const std::string text = data_file("not_a_store.txt");
  CHECK(store_error([&] { Store::open(text); }) == text + ": not a plast study store (file is not a database)");

  const std::string other = dir.file("other.db");
  run_sql(other, "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada');");
  CHECK(store_error([&] { Store::open(other); }) == other + ": not a plast study store (no meta table)");

  const std::string empty = dir.file("empty.db");
  write_file(empty, "");
  CHECK(store_error([&] { Store::open(empty); }) == empty + ": not a plast study store (no meta table)");

  const std::string foreign_meta = dir.file("foreign_meta.db");
  run_sql(foreign_meta, "CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('format', 'other-tool');");
  CHECK(store_error([&] { Store::open(foreign_meta); }) ==
        foreign_meta + ": not a plast study store (its format is 'other-tool')");

  const std::string newer = dir.file("newer.db");
  Store::create(newer, make_study());
  run_sql(newer, "UPDATE meta SET value = '2' WHERE key = 'version'");
  CHECK(store_error([&] { Store::open(newer); }) == newer + ": unsupported store version 2 (this plast reads version 1)");

  CHECK(store_error([&] { Store::open(dir.path.string()); }) == dir.path.string() + ": is a directory, not a store file");
}

TEST_CASE("a truncated or damaged store is reported as corrupt") {
  TempDir dir;
  const std::string good = dir.file("good.db");
  {
    Store store = Store::create(good, make_study(40));
    for (int g = 0; g < 6; ++g) commit(store, make_generation(g, 20, 40, 5000));
  }
  std::ifstream in(good, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  const std::size_t page = 4096;
  REQUIRE(bytes.size() % page == 0);
  REQUIRE(bytes.size() >= 8 * page);

  // Cut at a page boundary past the schema: SQLite would only notice when it reads a missing page.
  const std::string cut = dir.file("cut.db");
  write_file(cut, bytes.substr(0, bytes.size() / page / 2 * page));
  CHECK(store_error([&] { Store::open(cut); }) ==
        cut + ": corrupt store (file is truncated: " + std::to_string(bytes.size() / page / 2 * page) + " of " +
            std::to_string(bytes.size()) + " bytes)");

  // Cut in the middle of a page.
  const std::string ragged = dir.file("ragged.db");
  write_file(ragged, bytes.substr(0, 3 * page + 1000));
  CHECK(store_error([&] { Store::open(ragged); }) ==
        ragged + ": corrupt store (file is truncated: " + std::to_string(3 * page + 1000) + " of " +
            std::to_string(bytes.size()) + " bytes)");

  // Cut inside the first page: the schema itself is gone.
  const std::string stub = dir.file("stub.db");
  write_file(stub, bytes.substr(0, 1000));
  CHECK(store_error([&] { Store::open(stub); }) ==
        stub + ": corrupt store (file is truncated: 1000 of " + std::to_string(bytes.size()) + " bytes)");

  // Cut inside the header: SQLite's own word.
  const std::string headless = dir.file("headless.db");
  write_file(headless, bytes.substr(0, 60));
  CHECK(store_error([&] { Store::open(headless); }) == headless + ": corrupt store (database disk image is malformed)");

  // A page of garbage in the middle: open() may not read that page, verify() does.
  const std::string damaged = dir.file("damaged.db");
  std::string broken = bytes;
  for (std::size_t i = 0; i < page; ++i) broken[bytes.size() - 2 * page + i] = static_cast<char>(0xA5);
  write_file(damaged, broken);
  const std::string message = store_error([&] {
    const Store store = Store::open(damaged);
    store.verify();
  });
  CHECK(message.rfind(damaged + ": corrupt store (", 0) == 0);
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("a refused commit leaves the store as it was") {
  TempDir dir;
  const std::string path = dir.file("refuse.db");
  Store store = Store::create(path, make_study());
  for (int g = 0; g < 3; ++g) commit(store, make_generation(g));

  CHECK(store_error([&] { commit(store, make_generation(1)); }) == path + ": generation 1 already stored");
  CHECK(store_error([&] { commit(store, make_generation(2)); }) == path + ": generation 2 already stored");
  CHECK(store_error([&] { commit(store, make_generation(5)); }) ==
        path + ": generation 5 is not the next one (the next generation to store is 3)");
  {
    Generation gen = make_generation(-1);
    CHECK(store_error([&] { commit(store, gen); }) ==
          path + ": generation -1 is not the next one (the next generation to store is 3)");
  }
  {
    Generation gen = make_generation(3);
    gen.candidates[2].generation = 4;
    CHECK(store_error([&] { commit(store, gen); }) == path + ": generation 3 member 2: the candidate is of generation 4");
  }
  {
    Generation gen = make_generation(3);
    gen.candidates[4].member = 1;
    CHECK(store_error([&] { commit(store, gen); }) == path + ": generation 3: member 1 appears twice");
  }
  {
    Generation gen = make_generation(3);
    gen.candidates[0].status = "exploded";
    CHECK(store_error([&] { commit(store, gen); }) ==
          path + ": generation 3 member 0: unknown status 'exploded' (known: ok, diverged, timed_out)");
  }
  {
    Generation gen = make_generation(3);
    gen.candidates[3].theta.pop_back();
    CHECK(store_error([&] { commit(store, gen); }) ==
          path + ": generation 3 member 3: theta has 3 values, the study has 4 parameters");
  }
  {
    Generation gen = make_generation(3);
    gen.checkpoint.next_generation = 3;
    CHECK(store_error([&] { commit(store, gen); }) ==
          path + ": generation 3: its checkpoint resumes at generation 3 (must be 4)");
  }
  {
    Generation gen = make_generation(3);
    gen.checkpoint.best_theta.push_back(1.0);
    CHECK(store_error([&] { commit(store, gen); }) ==
          path + ": generation 3: the checkpoint's best theta has 5 values, the study has 4 parameters");
  }
  check_prefix(store, 3);
  check_prefix(Store::open(path), 3);
  // The store goes on after a refusal.
  commit(store, make_generation(3));
  check_prefix(Store::open(path), 4);
}

TEST_CASE("a commit that fails half way is rolled back whole") {
  TempDir dir;
  const std::string path = dir.file("half.db");
  {
    Store store = Store::create(path, make_study());
    for (int g = 0; g < 2; ++g) commit(store, make_generation(g));
  }
  // Make the last statement of generation 2's transaction fail, after its statistics, its
  // candidates and the clearing of the previous strategy state have been written.
  run_sql(path,
          "CREATE TRIGGER fail_late BEFORE INSERT ON checkpoints WHEN NEW.next_generation = 3 "
          "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;");
  Store store = Store::open(path);
  CHECK(store_error([&] { commit(store, make_generation(2)); }) == path + ": cannot store generation 2 (disk on fire)");
  check_prefix(store, 2);
  check_prefix(Store::open(path), 2);
  CHECK(query(path, "SELECT count(*) FROM candidates WHERE generation = 2") == std::vector<std::string>{"0"});
  run_sql(path, "DROP TRIGGER fail_late");
  commit(store, make_generation(2));
  check_prefix(Store::open(path), 3);
}

TEST_CASE("a writer killed with SIGKILL leaves a complete prefix of generations") {
  // The child commits generation after generation; the parent kills it at varying moments
  // after its first commit, and reopens the store. Each generation carries a 1 MiB strategy
  // state, so nearly all of the child's time is spent inside a transaction. A journal next to
  // the store after the kill shows that the kill landed inside one; a "hot" journal (SQLite
  // writes its first, non-zero byte once the journal is synced and before it touches the
  // database) shows that the database itself was half written and opening had to roll it
  // back. The test goes on until three kills have produced a hot journal (at most 40 runs),
  // and fails if none did: the rollback path must be exercised, not just hoped for.
  constexpr int kMembers = 32;
  constexpr std::size_t kParams = 64;
  constexpr std::size_t kStateBytes = 1 << 20;
  const int delays_ms[] = {0, 3, 7, 12, 18, 25, 33, 42, 55, 70};
  int runs = 0, inside_transaction = 0, hot = 0;
  std::int64_t committed = 0;
  for (; runs < 40 && (runs < 6 || hot < 3); ++runs) {
    const int delay = delays_ms[runs % std::size(delays_ms)];
    CAPTURE(runs);
    CAPTURE(delay);
    TempDir dir;
    const std::string path = dir.file("killed.db");
    Store::create(path, make_study(kParams));
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child: no doctest macros, and _exit so that nothing of the parent's runs twice.
      close(ready[0]);
      try {
        Store store = Store::open(path);
        for (std::int64_t g = 0; g < 1000000; ++g) {
          commit(store, make_generation(g, kMembers, kParams, kStateBytes));
          if (g == 0 && write(ready[1], "x", 1) != 1) _exit(3);
        }
      } catch (...) {
        _exit(2);
      }
      _exit(0);
    }
    close(ready[1]);
    char byte = 0;
    const bool committed_one = read(ready[0], &byte, 1) == 1;
    close(ready[0]);
    if (committed_one) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    kill(child, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(committed_one);
    CHECK(WIFSIGNALED(status));
    if (std::filesystem::exists(path + "-journal")) {
      ++inside_transaction;
      std::ifstream journal(path + "-journal", std::ios::binary);
      char first = 0;
      if (journal.get(first) && first != 0) ++hot;
    }

    const Store store = Store::open(path);
    const std::int64_t k = store.next_generation();
    CAPTURE(k);
    CHECK(k >= 1);
    check_prefix(store, k, kMembers, kParams, kStateBytes);
    store.verify();
    committed += k;
  }
  MESSAGE(runs << " kills: " << inside_transaction << " inside a transaction, " << hot
                << " of them after the database was written; " << committed << " generations survived in all");
  CHECK(hot >= 1);
}

}  // TEST_SUITE
