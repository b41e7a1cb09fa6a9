// The SQLite study store (store.hpp). Written against the SQLite C API: every handle and
// statement is owned by an RAII wrapper, every statement is prepared and bound (no SQL is
// built from values), and every SQLite failure becomes one plast::Error line naming the file.
#include "lib/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

#include "lib/error.hpp"

namespace plast {
namespace {

constexpr std::string_view kFormat = "plast-study-store";
constexpr int kVersion = 1;
constexpr int kApplicationId = 0x706c7374;   // "plst": lets `file` and other tools tell the file apart
constexpr int kBusyTimeoutMs = 10000;        // how long to wait for a reader (plast inspect) to let go

// The schema of version 1.
//
// Exact doubles. Columns that hold one double (fitness and the statistics) have no declared
// type, so SQLite applies no affinity and keeps the 8-byte IEEE value exactly as bound: a
// column declared REAL would store an integral value such as -0.0 as the integer 0 and lose
// its sign. SQLite cannot store NaN as a number (it turns it into NULL), so a NaN is stored
// as an 8-byte little-endian BLOB of its bits (payload and sign included). Everything else is
// an ordinary number that SQL can compare and sort (`ORDER BY fitness`). Vectors of doubles
// (θ) are BLOBs of 8-byte little-endian IEEE values.
//
// The seed is a uint64; it is stored as the int64 with the same bits (SQLite integers are
// signed 64-bit), so seeds >= 2^63 read as negative numbers in the sqlite3 shell.
//
// Checkpoints: one row per generation, so the best-so-far and the cumulative counters can be
// inspected over the study's history; only the latest row keeps the strategy state (older
// ones are set to NULL in the same transaction), because a full-covariance state is O(n²)
// bytes and a thousand of them would dwarf everything else.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE study (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  yaml TEXT NOT NULL,
  yaml_hash TEXT NOT NULL,
  seed INTEGER NOT NULL
);
CREATE TABLE parameters (
  position INTEGER PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE generations (
  generation INTEGER PRIMARY KEY CHECK (generation >= 0),
  best, mean, median, step_size,
  evaluations INTEGER NOT NULL,
  diverged INTEGER NOT NULL,
  wall_seconds
);
CREATE TABLE candidates (
  generation INTEGER NOT NULL REFERENCES generations (generation),
  member INTEGER NOT NULL,
  theta BLOB NOT NULL,
  fitness,
  status TEXT NOT NULL CHECK (status IN ('ok', 'diverged', 'timed_out')),
  PRIMARY KEY (generation, member)
);
CREATE TABLE checkpoints (
  next_generation INTEGER PRIMARY KEY CHECK (next_generation >= 1),
  strategy_state BLOB,
  best_theta BLOB NOT NULL,
  best_fitness,
  evaluations INTEGER NOT NULL,
  diverged INTEGER NOT NULL,
  wall_seconds
);
)sql";

// A failed SQLite call (or a record that cannot be what this code wrote), on its way to the
// public function that turns it into a plast::Error with its context.
struct SqlFailure {
  int code;
  std::string message;
};

[[noreturn]] void fail(sqlite3* db, int rc) {
  throw SqlFailure{rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)};
}

[[noreturn]] void corrupt(std::string message) { throw SqlFailure{SQLITE_CORRUPT, std::move(message)}; }

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

void exec(sqlite3* db, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc);
}

std::string encode_doubles(const std::vector<double>& values) {
  std::string out(values.size() * 8, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto bits = std::bit_cast<std::uint64_t>(values[i]);
    for (int b = 0; b < 8; ++b) out[i * 8 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

std::vector<double> decode_doubles(std::string_view bytes) {
  std::vector<double> out(bytes.size() / 8);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t bits = 0;
    for (int b = 0; b < 8; ++b)
      bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i * 8 + b])) << (8 * b);
    out[i] = std::bit_cast<double>(bits);
  }
  return out;
}

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind_int(int i, std::int64_t v) { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind_text(int i, std::string_view v) {
    check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  // Never NULL, also when empty (sqlite3_bind_blob with a null pointer binds NULL).
  void bind_blob(int i, std::string_view v) {
    if (v.empty()) check(sqlite3_bind_zeroblob(stmt_, i, 0));
    else check(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  }
  // An exact double (see kSchema): a number, or the bits of a NaN as a BLOB.
  void bind_exact(int i, double v) {
    if (std::isnan(v)) bind_blob(i, encode_doubles({v}));
    else check(sqlite3_bind_double(stmt_, i, v));
  }

  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc);
  }
  void run() {
    while (step()) {
    }
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  bool is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::int64_t column_int(int i, const char* what) const {
    if (sqlite3_column_type(stmt_, i) != SQLITE_INTEGER) corrupt(std::string(what) + " is not an integer");
    return sqlite3_column_int64(stmt_, i);
  }
  std::string column_text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  std::string column_blob(int i, const char* what) const {
    if (sqlite3_column_type(stmt_, i) != SQLITE_BLOB) corrupt(std::string(what) + " is not a blob");
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
  }
  std::vector<double> column_doubles(int i, const char* what) const {
    const std::string bytes = column_blob(i, what);
    if (bytes.size() % 8 != 0)
      corrupt(std::string(what) + " has " + std::to_string(bytes.size()) + " bytes, not a multiple of 8");
    return decode_doubles(bytes);
  }
  double column_exact(int i, const char* what) const {
    switch (sqlite3_column_type(stmt_, i)) {
      case SQLITE_FLOAT: return sqlite3_column_double(stmt_, i);
      case SQLITE_INTEGER: return static_cast<double>(sqlite3_column_int64(stmt_, i));
      case SQLITE_BLOB: {
        const auto v = column_doubles(i, what);
        if (v.size() == 1) return v[0];
        break;
      }
      default: break;
    }
    corrupt(std::string(what) + " is not a number");
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, rc);
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Rolls back unless committed, so that an exception anywhere inside leaves the store as it was.
class Transaction {
 public:
  Transaction(sqlite3* db, const char* begin) : db_(db) { exec(db, begin); }
  ~Transaction() {
    // SQLite may already have rolled back by itself (after some I/O errors).
    if (!committed_ && sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, "COMMIT");
    committed_ = true;
  }

 private:
  sqlite3* db_;
  bool committed_ = false;
};

struct Connection {
  sqlite3* db = nullptr;
  ~Connection() { sqlite3_close_v2(db); }
  sqlite3* release() { return std::exchange(db, nullptr); }
};

void connect(Connection& c, const std::string& path, int flags) {
  const int rc = sqlite3_open_v2(path.c_str(), &c.db, flags, nullptr);
  if (rc != SQLITE_OK) fail(c.db, rc);
  sqlite3_extended_result_codes(c.db, 1);
  sqlite3_busy_timeout(c.db, kBusyTimeoutMs);
  // Durability. The store keeps SQLite's rollback journal (journal_mode=DELETE, set in create):
  // a commit is atomic whatever kills the process, and the store stays one self-contained file
  // that can be copied while nothing writes — and works on network file systems, where WAL's
  // shared-memory index does not. synchronous=FULL makes SQLite fsync the journal before it
  // touches the database and the database before the commit is done, so a committed generation
  // survives a power cut as well; that costs a few fsyncs per generation, which is nothing next
  // to evaluating one.
  exec(c.db, "PRAGMA synchronous = FULL");
  exec(c.db, "PRAGMA foreign_keys = ON");
  exec(c.db, "PRAGMA cell_size_check = ON");   // catch more damage on read, at little cost
  exec(c.db, "PRAGMA trusted_schema = OFF");   // a store may come from someone else
}

std::int64_t query_int(sqlite3* db, const char* sql) {
  Statement s(db, sql);
  if (!s.step()) corrupt(std::string(sql) + " returned nothing");
  return s.column_int(0, sql);
}

// "file is truncated: 40960 of 86016 bytes" when the database header counts more pages than
// the file holds (a copy that stopped half way, a full disk), to say more than SQLite's
// "database disk image is malformed". Only asked after SQLite has reported corruption: while a
// hot journal is still to be rolled back, a short file may be a legitimate state.
std::optional<std::string> truncation(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[100] = {};
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return std::nullopt;
  if (std::string_view(reinterpret_cast<const char*>(h), 16) != std::string_view("SQLite format 3\0", 16))
    return std::nullopt;
  const auto be32 = [&](int at) {
    return static_cast<std::uint32_t>(h[at]) << 24 | static_cast<std::uint32_t>(h[at + 1]) << 16 |
           static_cast<std::uint32_t>(h[at + 2]) << 8 | static_cast<std::uint32_t>(h[at + 3]);
  };
  const std::uint32_t page_size = h[16] == 0 && h[17] == 1 ? 65536u : (static_cast<std::uint32_t>(h[16]) << 8 | h[17]);
  // The page count at offset 28 is valid only while the change counter (24) matches the
  // version-valid-for number (92); see https://www.sqlite.org/fileformat.html#in_header_database_size.
  if (be32(24) != be32(92)) return std::nullopt;
  const std::uint64_t expected = static_cast<std::uint64_t>(page_size) * be32(28);
  std::error_code ec;
  const auto actual = std::filesystem::file_size(path, ec);
  if (ec || actual >= expected) return std::nullopt;
  return "file is truncated: " + std::to_string(actual) + " of " + std::to_string(expected) + " bytes";
}

// Corruption found in `path`, explained by truncation where that is the cause.
SqlFailure explained(const std::string& path, SqlFailure f) {
  if ((f.code & 0xff) == SQLITE_CORRUPT)
    if (auto why = truncation(path)) f.message = *why;
  return f;
}

// "PATH: corrupt store (MSG)", "PATH: not a plast study store (MSG)" or "PATH: CONTEXT (MSG)".
[[noreturn]] void rethrow(const std::string& path, const std::string& context, const SqlFailure& failure) {
  const SqlFailure f = explained(path, failure);
  const std::string message = one_line(f.message);
  switch (f.code & 0xff) {
    case SQLITE_CORRUPT: throw Error(path + ": corrupt store (" + message + ")");
    case SQLITE_NOTADB: throw Error(path + ": not a plast study store (" + message + ")");
    default: throw Error(path + ": " + context + " (" + message + ")");
  }
}

StudyRecord read_study(sqlite3* db) {
  StudyRecord study;
  Statement s(db, "SELECT name, yaml, yaml_hash, seed FROM study WHERE id = 1");
  if (!s.step()) corrupt("no study row");
  study.name = s.column_text(0);
  study.yaml = s.column_text(1);
  study.yaml_hash = s.column_text(2);
  study.seed = static_cast<std::uint64_t>(s.column_int(3, "study.seed"));
  Statement p(db, "SELECT position, name FROM parameters ORDER BY position");
  while (p.step()) {
    if (p.column_int(0, "parameters.position") != static_cast<std::int64_t>(study.param_names.size()))
      corrupt("parameter positions are not 0, 1, 2, ...");
    study.param_names.push_back(p.column_text(1));
  }
  return study;
}

std::int64_t stored_next_generation(sqlite3* db) {
  Statement s(db, "SELECT max(generation) FROM generations");
  if (!s.step() || s.is_null(0)) return 0;
  return s.column_int(0, "generations.generation") + 1;
}

GenerationRecord read_generation(const Statement& s) {
  GenerationRecord g;
  g.generation = s.column_int(0, "generations.generation");
  g.best = s.column_exact(1, "generations.best");
  g.mean = s.column_exact(2, "generations.mean");
  g.median = s.column_exact(3, "generations.median");
  g.step_size = s.column_exact(4, "generations.step_size");
  g.evaluations = s.column_int(5, "generations.evaluations");
  g.diverged = s.column_int(6, "generations.diverged");
  g.wall_seconds = s.column_exact(7, "generations.wall_seconds");
  return g;
}

CandidateRecord read_candidate(const Statement& s) {
  CandidateRecord c;
  c.generation = s.column_int(0, "candidates.generation");
  c.member = s.column_int(1, "candidates.member");
  c.theta = s.column_doubles(2, "candidates.theta");
  c.fitness = s.column_exact(3, "candidates.fitness");
  c.status = s.column_text(4);
  return c;
}

std::optional<Checkpoint> read_checkpoint(sqlite3* db) {
  Statement s(db,
              "SELECT next_generation, strategy_state, best_theta, best_fitness, evaluations, diverged, "
              "wall_seconds FROM checkpoints ORDER BY next_generation DESC LIMIT 1");
  if (!s.step()) return std::nullopt;
  Checkpoint c;
  c.next_generation = s.column_int(0, "checkpoints.next_generation");
  if (s.is_null(1)) corrupt("the latest checkpoint has no strategy state");
  c.strategy_state = s.column_blob(1, "checkpoints.strategy_state");
  c.best_theta = s.column_doubles(2, "checkpoints.best_theta");
  c.best_fitness = s.column_exact(3, "checkpoints.best_fitness");
  c.evaluations = s.column_int(4, "checkpoints.evaluations");
  c.diverged = s.column_int(5, "checkpoints.diverged");
  c.wall_seconds = s.column_exact(6, "checkpoints.wall_seconds");
  return c;
}

}  // namespace

void Store::Close::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const std::vector<std::string>& Store::statuses() {
  static const std::vector<std::string> known{"ok", "diverged", "timed_out"};
  return known;
}

Store Store::create(const std::string& path, const StudyRecord& study) {
  namespace fs = std::filesystem;
  // SQLite would make a temporary database of "" that vanishes when closed.
  if (path.empty()) throw Error("the store path is empty");
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (fs::is_directory(status)) throw Error(path + ": is a directory, not a store file");
  const bool existed = fs::exists(status);
  const std::string already = path + ": already exists (use --resume to continue it, or remove it)";
  if (existed && fs::file_size(path, ec) > 0) throw Error(already);

  Connection c;
  try {
    connect(c, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    exec(c.db, "PRAGMA journal_mode = DELETE");
    Transaction tx(c.db, "BEGIN EXCLUSIVE");
    // Another process may have made the file between the check above and now.
    if (query_int(c.db, "SELECT count(*) FROM sqlite_schema") != 0) throw Error(already);
    exec(c.db, kSchema);
    exec(c.db, ("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
    {
      Statement meta(c.db, "INSERT INTO meta (key, value) VALUES (?1, ?2)");
      meta.bind_text(1, "format");
      meta.bind_text(2, kFormat);
      meta.run();
      meta.reset();
      meta.bind_text(1, "version");
      meta.bind_text(2, std::to_string(kVersion));
      meta.run();
    }
    {
      Statement s(c.db, "INSERT INTO study (id, name, yaml, yaml_hash, seed) VALUES (1, ?1, ?2, ?3, ?4)");
      s.bind_text(1, study.name);
      s.bind_text(2, study.yaml);
      s.bind_text(3, study.yaml_hash);
      s.bind_int(4, static_cast<std::int64_t>(study.seed));
      s.run();
    }
    {
      Statement p(c.db, "INSERT INTO parameters (position, name) VALUES (?1, ?2)");
      for (std::size_t i = 0; i < study.param_names.size(); ++i) {
        p.reset();
        p.bind_int(1, static_cast<std::int64_t>(i));
        p.bind_text(2, study.param_names[i]);
        p.run();
      }
    }
    tx.commit();
  } catch (const SqlFailure& f) {
    // Leave nothing behind that would make the next try say "already exists".
    if (!existed) {
      sqlite3_close_v2(c.release());
      fs::remove(path, ec);
      fs::remove(path + "-journal", ec);
    }
    rethrow(path, "cannot create store", f);
  }
  return Store(path, std::unique_ptr<sqlite3, Close>(c.release()), study);
}

Store Store::open(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw Error("the store path is empty");
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(path + ": no such store");
  if (fs::is_directory(status)) throw Error(path + ": is a directory, not a store file");

  const std::string not_a_store = path + ": not a plast study store";
  Connection c;
  StudyRecord study;
  try {
    connect(c, path, SQLITE_OPEN_READWRITE);
    // The first read: SQLite looks at the header here (a file that is not a database fails
    // with SQLITE_NOTADB), and rolls back a generation that a killed writer left half done.
    if (query_int(c.db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'") == 0)
      throw Error(not_a_store + " (no meta table)");
    std::string format, version;
    {
      Statement s(c.db, "SELECT key, value FROM meta WHERE key IN ('format', 'version')");
      while (s.step()) (s.column_text(0) == "format" ? format : version) = s.column_text(1);
    }
    if (format != kFormat)
      throw Error(not_a_store + (format.empty() ? " (no format in its meta table)"
                                                : " (its format is '" + one_line(format) + "')"));
    if (version != std::to_string(kVersion))
      throw Error(path + ": unsupported store version " + (version.empty() ? "(none)" : one_line(version)) +
                  " (this plast reads version " + std::to_string(kVersion) + ")");
    study = read_study(c.db);
    // Commits are atomic, so these agree unless the file was edited by hand.
    const std::int64_t next = stored_next_generation(c.db);
    const auto cp = read_checkpoint(c.db);
    if ((cp ? cp->next_generation : 0) != next)
      corrupt("the latest checkpoint resumes at generation " + std::to_string(cp ? cp->next_generation : 0) +
              " but " + std::to_string(next) + " generations are stored");
  } catch (const SqlFailure& f) {
    rethrow(path, "cannot open store", f);
  }
  return Store(path, std::unique_ptr<sqlite3, Close>(c.release()), std::move(study));
}

void Store::commit_generation(const GenerationRecord& stats, const std::vector<CandidateRecord>& candidates,
                              const Checkpoint& checkpoint) {
  const std::int64_t g = stats.generation;
  const std::string where = path_ + ": generation " + std::to_string(g);
  const std::size_t n = study_.param_names.size();
  const auto params = [](std::size_t k) { return std::to_string(k) + (k == 1 ? " parameter" : " parameters"); };
  const auto values = [](std::size_t k) { return std::to_string(k) + (k == 1 ? " value" : " values"); };

  // Checks that need nothing from the file come first, so that bad input writes nothing.
  std::vector<std::int64_t> members;
  members.reserve(candidates.size());
  for (const auto& c : candidates) {
    const std::string who = where + " member " + std::to_string(c.member);
    if (c.generation != g) throw Error(who + ": the candidate is of generation " + std::to_string(c.generation));
    const auto& known = statuses();
    if (std::find(known.begin(), known.end(), c.status) == known.end())
      throw Error(who + ": unknown status '" + one_line(c.status) + "' (known: ok, diverged, timed_out)");
    if (c.theta.size() != n) throw Error(who + ": theta has " + values(c.theta.size()) + ", the study has " + params(n));
    members.push_back(c.member);
  }
  std::sort(members.begin(), members.end());
  if (const auto dup = std::adjacent_find(members.begin(), members.end()); dup != members.end())
    throw Error(where + ": member " + std::to_string(*dup) + " appears twice");
  if (checkpoint.next_generation != g + 1)
    throw Error(where + ": its checkpoint resumes at generation " + std::to_string(checkpoint.next_generation) +
                " (must be " + std::to_string(g + 1) + ")");
  if (checkpoint.best_theta.size() != n)
    throw Error(where + ": the checkpoint's best theta has " + values(checkpoint.best_theta.size()) +
                ", the study has " + params(n));

  sqlite3* db = db_.get();
  try {
    // IMMEDIATE takes the write lock now, so the order check below cannot race another writer.
    Transaction tx(db, "BEGIN IMMEDIATE");
    const std::int64_t next = stored_next_generation(db);
    if (g >= 0 && g < next) throw Error(where + " already stored");
    if (g != next)
      throw Error(where + " is not the next one (the next generation to store is " + std::to_string(next) + ")");
    {
      Statement s(db,
                  "INSERT INTO generations (generation, best, mean, median, step_size, evaluations, diverged, "
                  "wall_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      s.bind_int(1, g);
      s.bind_exact(2, stats.best);
      s.bind_exact(3, stats.mean);
      s.bind_exact(4, stats.median);
      s.bind_exact(5, stats.step_size);
      s.bind_int(6, stats.evaluations);
      s.bind_int(7, stats.diverged);
      s.bind_exact(8, stats.wall_seconds);
      s.run();
    }
    {
      Statement s(db,
                  "INSERT INTO candidates (generation, member, theta, fitness, status) VALUES (?1, ?2, ?3, ?4, ?5)");
      for (const auto& c : candidates) {
        s.reset();
        s.bind_int(1, g);
        s.bind_int(2, c.member);
        s.bind_blob(3, encode_doubles(c.theta));
        s.bind_exact(4, c.fitness);
        s.bind_text(5, c.status);
        s.run();
      }
    }
    exec(db, "UPDATE checkpoints SET strategy_state = NULL WHERE strategy_state IS NOT NULL");
    {
      Statement s(db,
                  "INSERT INTO checkpoints (next_generation, strategy_state, best_theta, best_fitness, evaluations, "
                  "diverged, wall_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      s.bind_int(1, checkpoint.next_generation);
      s.bind_blob(2, checkpoint.strategy_state);
      s.bind_blob(3, encode_doubles(checkpoint.best_theta));
      s.bind_exact(4, checkpoint.best_fitness);
      s.bind_int(5, checkpoint.evaluations);
      s.bind_int(6, checkpoint.diverged);
      s.bind_exact(7, checkpoint.wall_seconds);
      s.run();
    }
    tx.commit();
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot store generation " + std::to_string(g), f);
  }
}

std::int64_t Store::next_generation() const {
  try {
    return stored_next_generation(db_.get());
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot read generations", f);
  }
}

std::optional<Checkpoint> Store::checkpoint() const {
  try {
    return read_checkpoint(db_.get());
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot read the checkpoint", f);
  }
}

std::vector<GenerationRecord> Store::generations() const {
  try {
    std::vector<GenerationRecord> out;
    Statement s(db_.get(),
                "SELECT generation, best, mean, median, step_size, evaluations, diverged, wall_seconds "
                "FROM generations ORDER BY generation");
    while (s.step()) out.push_back(read_generation(s));
    return out;
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot read generations", f);
  }
}

std::vector<CandidateRecord> Store::candidates() const {
  try {
    std::vector<CandidateRecord> out;
    Statement s(db_.get(),
                "SELECT generation, member, theta, fitness, status FROM candidates ORDER BY generation, member");
    while (s.step()) out.push_back(read_candidate(s));
    return out;
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot read candidates", f);
  }
}

std::vector<CandidateRecord> Store::candidates(std::int64_t generation) const {
  try {
    std::vector<CandidateRecord> out;
    Statement s(db_.get(),
                "SELECT generation, member, theta, fitness, status FROM candidates WHERE generation = ?1 "
                "ORDER BY member");
    s.bind_int(1, generation);
    while (s.step()) out.push_back(read_candidate(s));
    return out;
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot read candidates of generation " + std::to_string(generation), f);
  }
}

void Store::verify() const {
  try {
    Statement s(db_.get(), "PRAGMA quick_check");
    std::string problems;
    while (s.step()) {
      const std::string line = s.column_text(0);
      if (line == "ok") continue;
      problems += (problems.empty() ? "" : "; ") + line;
    }
    if (!problems.empty()) corrupt(problems);
  } catch (const SqlFailure& f) {
    rethrow(path_, "cannot check store", f);
  }
}

}  // namespace plast
