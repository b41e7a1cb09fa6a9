// plast — search for biologically plausible learning rules. See README.md.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/bench_command.hpp"
#include "cli/compare_command.hpp"
#include "cli/ensemble_command.hpp"
#include "cli/inspect_command.hpp"
#include "cli/list_command.hpp"
#include "cli/plot_command.hpp"
#include "cli/run_command.hpp"
#include "cli/train_command.hpp"
#include "lib/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"plast: train students with learning rules, and search for new rules"};
  // At most one; "none" is reported after parsing, so that a misspelled subcommand
  // ("plast trian") is named as unexpected rather than reported as missing.
  app.require_subcommand(0, 1);
  plast::add_train_command(app);
  plast::add_compare_command(app);
  plast::add_run_command(app);
  plast::add_validate_command(app);
  plast::add_inspect_command(app);
  plast::add_plot_command(app);
  plast::add_list_command(app);
  plast::add_bench_command(app);
  plast::add_ensemble_command(app);
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::string names;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
        names += (names.empty() ? "" : ", ") + sub->get_name();
      throw CLI::RequiredError("a subcommand (" + names + ")");
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line naming the problem, then a pointer to --help.
    std::cerr << "plast: " << e.what() << " (see plast --help)" << std::endl;
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  } catch (const plast::Error& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "plast: internal error: " << e.what() << std::endl;
    return 3;
  }
  return 0;
}
