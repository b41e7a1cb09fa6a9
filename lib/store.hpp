#pragma once
// The study store: one SQLite file that holds everything a rule-search study has done
// (DESIGN.md, "The flow of one study"): the study row (name, resolved YAML, its hash, the
// seed, the names of θ's parameters), and per generation its candidates (θ, fitness,
// status), its statistics and a checkpoint (the strategy's opaque state and the counters).
//
// Contracts (DESIGN.md, "Contracts"):
//   * A generation is committed whole or not at all: commit_generation() writes the
//     candidates, the statistics and the checkpoint in one transaction, so a kill (even
//     SIGKILL, or a power cut) at any moment leaves either the whole generation or none of it.
//   * Generations are stored strictly in order 0, 1, 2, ... with no gaps and no repeats.
//   * Numbers come back bit for bit: θ, fitness and every statistic (including -0, ±inf and
//     NaN with its payload), the seed (all 64 bits) and the strategy state (any bytes).
//   * Every failure is one plast::Error line that starts with the store's path:
//       runs/x.db: no such store
//       runs/x.db: already exists (use --resume to continue it, or remove it)
//       runs/x.db: not a plast study store (file is not a database)
//       runs/x.db: not a plast study store (no meta table)
//       runs/x.db: unsupported store version 2 (this plast reads version 1)
//       runs/x.db: corrupt store (database disk image is malformed)
//       runs/x.db: corrupt store (file is truncated: 8192 of 24576 bytes)
//       runs/x.db: generation 5 already stored
//       runs/x.db: cannot store generation 6 (database or disk is full)
//
// The file can be read with any SQLite tool (`sqlite3 runs/x.db .schema`); the schema is in
// store.cpp. A Store is not thread-safe: one thread (rank 0's study runner) writes it.
// Other processes may open the same file to read it (plast inspect) while a study runs.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace plast {

struct StudyRecord {
  std::string name;
  std::string yaml;        // the resolved study, as YAML text
  std::string yaml_hash;   // the caller's hash of `yaml` (resume compares it)
  std::uint64_t seed = 0;
  std::vector<std::string> param_names;   // θ's parameters, in θ's order

  friend bool operator==(const StudyRecord&, const StudyRecord&) = default;
};

struct CandidateRecord {
  std::int64_t generation = 0;
  std::int64_t member = 0;
  std::vector<double> theta;   // param_names.size() values
  double fitness = 0;          // lower is better (every strategy minimizes)
  std::string status;          // "ok" | "diverged" | "timed_out"
};

struct GenerationRecord {
  std::int64_t generation = 0;
  double best = 0, mean = 0, median = 0, step_size = 0;   // of this generation's fitness
  std::int64_t evaluations = 0;   // in this generation
  std::int64_t diverged = 0;      // in this generation
  double wall_seconds = 0;        // of this generation
};

// What a resumed study needs to go on exactly where it stopped. Counters are cumulative
// over the whole study.
struct Checkpoint {
  std::int64_t next_generation = 0;   // the generation this checkpoint resumes at
  std::string strategy_state;         // opaque bytes (may contain zero bytes)
  std::vector<double> best_theta;     // best so far
  double best_fitness = 0;
  std::int64_t evaluations = 0;
  std::int64_t diverged = 0;
  double wall_seconds = 0;
};

class Store {
 public:
  // The statuses a candidate may have.
  static const std::vector<std::string>& statuses();

  // Creates a new store file with the schema and the study row. Refuses a file that exists
  // and is non-empty: "PATH: already exists (use --resume to continue it, or remove it)".
  // A failed create removes the file it made.
  static Store create(const std::string& path, const StudyRecord& study);

  // Opens an existing store (read and write). "PATH: no such store"; "PATH: not a plast
  // study store (...)" for another file or another SQLite database; "PATH: unsupported store
  // version N (this plast reads version 1)"; "PATH: corrupt store (...)" for a damaged one
  // (a truncated file is caught here, before anything is written: "PATH: corrupt store (file
  // is truncated: 40960 of 86016 bytes)"). If a writer was killed in the middle of a
  // generation, opening rolls that generation back.
  static Store open(const std::string& path);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  const std::string& path() const { return path_; }
  const StudyRecord& study() const { return study_; }

  // Writes one whole generation — its statistics, its candidates and the checkpoint — in ONE
  // transaction (BEGIN IMMEDIATE ... COMMIT); on any error it rolls back and throws, and the
  // store is as it was. Refused (before anything is written):
  //   "PATH: generation 5 already stored", "PATH: generation 7 is not the next one (the next
  //   generation to store is 6)", a candidate of another generation, a repeated member,
  //   an unknown status, θ of the wrong size, a checkpoint whose next_generation is not
  //   stats.generation + 1.
  void commit_generation(const GenerationRecord& stats, const std::vector<CandidateRecord>& candidates,
                         const Checkpoint& checkpoint);

  // The generation the next commit must have: 0 for a new store.
  std::int64_t next_generation() const;
  // The latest checkpoint; none before the first generation is committed.
  std::optional<Checkpoint> checkpoint() const;
  std::vector<GenerationRecord> generations() const;   // ordered by generation
  std::vector<CandidateRecord> candidates() const;     // ordered by (generation, member)
  std::vector<CandidateRecord> candidates(std::int64_t generation) const;   // ordered by member

  // A full consistency check of the file (SQLite's quick_check: every page and record; reads
  // the whole file, so open() does not do it). Throws "PATH: corrupt store (...)".
  void verify() const;

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept;
  };
  Store(std::string path, std::unique_ptr<sqlite3, Close> db, StudyRecord study)
      : path_(std::move(path)), db_(std::move(db)), study_(std::move(study)) {}

  std::string path_;
  std::unique_ptr<sqlite3, Close> db_;
  StudyRecord study_;   // immutable once created, so read once
};

}  // namespace plast
