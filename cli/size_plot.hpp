#pragma once
// A score against the student's parameter count, for `plast compare` files with `networks:`
// (one line per task entry × rule, one point per network): the accuracy-versus-size plot of
// model compression and distillation (Ba & Caruana 2014 Fig. 1; Hinton, Vinyals & Dean 2015).
#include <ostream>
#include <string>
#include <vector>

namespace plast {

struct SizeTable {
  struct Network {
    std::string label;   // "h300"
    long params = 0;     // weights and biases
  };
  struct Series {
    std::string label;           // "distilled-T4 / backprop"
    std::vector<double> mean;    // one per network; NaN where no seed has a value
    std::vector<double> sd;
  };
  std::string metric;            // "test_accuracy" or "test_loss"
  std::vector<Network> networks;
  std::vector<Series> series;
};

// CSV: network,params, then "<series>:mean,<series>:sd" per series; one row per network.
void write_size_csv(std::ostream& out, const SizeTable& t);

// Gnuplot commands that draw `csv` into `png` (x: parameters, log scale; y: the metric, accuracy
// in percent, with ±sd bars). Needs the terminal and `set datafile separator comma` set already.
std::string size_plot_commands(const SizeTable& t, const std::string& csv, const std::string& png,
                               const std::string& title);

}  // namespace plast
