#pragma once
// `plast compare CONFIG --json` run as a child at a given thread count, its result rows keyed
// "task metric" — for tests that results do not depend on the thread count. The throughput row
// is left out (the one number that does depend on the machine); the child reads this process's
// data folder, since it runs in a scratch folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "lib/idx.hpp"
#include "tests/cli/cli_runner.hpp"

namespace plast::test {

inline std::map<std::string, nlohmann::json> compare_rows(const std::string& config, const std::string& out,
                                                         const std::string& threads) {
  CliEnv env;
  env.set = {{"PLAST_DATA", std::filesystem::absolute(data_dir()).string()}};
  const auto r = run_plast({"compare", config, "--out", out, "--json", "--quiet", "--no-plots", "--threads", threads}, env);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : j["rows"])
    if (row["metric"] != "train_samples_per_s")
      rows[row["task"].get<std::string>() + " " + row["metric"].get<std::string>()] = row;
  return rows;
}

}  // namespace plast::test
