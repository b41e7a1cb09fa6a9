#include "cli/size_plot.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "cli/output_files.hpp"

namespace plast {

void write_size_csv(std::ostream& out, const SizeTable& t) {
  out << "network,params";
  for (const auto& s : t.series) out << ',' << csv_field(s.label + ":" + t.metric + ":mean") << ',' << csv_field(s.label + ":" + t.metric + ":sd");
  out << '\n';
  for (std::size_t n = 0; n < t.networks.size(); ++n) {
    out << csv_field(t.networks[n].label) << ',' << t.networks[n].params;
    for (const auto& s : t.series)
      out << ',' << (std::isfinite(s.mean[n]) ? csv_number(s.mean[n]) : std::string()) << ','
          << (std::isfinite(s.sd[n]) ? csv_number(s.sd[n]) : std::string());
    out << '\n';
  }
}

std::string size_plot_commands(const SizeTable& t, const std::string& csv, const std::string& png,
                               const std::string& title) {
  const bool accuracy = t.metric == "test_accuracy";
  const std::string scale = accuracy ? "100*" : "";
  std::ostringstream gp;
  gp << "\nset output " << gp_string(png) << "\nset title " << gp_string(title) << "\n"
     << "set xlabel 'parameters (weights and biases, log scale)'\nset logscale x\nunset logscale y\nunset label\n"
     << "set ylabel " << gp_string(accuracy ? "test accuracy (%), mean ± sd" : t.metric + ", mean ± sd") << "\n"
     << "set autoscale y\nset key bottom right\n";
  // A margin around the sizes (one network alone would give gnuplot an empty x range).
  double lo = 0.0, hi = 0.0;
  for (const auto& n : t.networks) {
    const double p = static_cast<double>(std::max(1L, n.params));
    lo = lo == 0.0 ? p : std::min(lo, p);
    hi = std::max(hi, p);
  }
  if (hi > 0.0) gp << "set xrange [" << lo / 1.5 << ":" << hi * 1.5 << "]\n";
  std::string plot;
  for (std::size_t s = 0; s < t.series.size(); ++s) {
    bool any = false;
    for (double v : t.series[s].mean) any |= std::isfinite(v);
    if (!any) continue;   // gnuplot refuses an empty series
    const std::string m = std::to_string(3 + 2 * s), sd = std::to_string(4 + 2 * s);
    // With one seed there is no sd at all: gnuplot drops a point whose error column is empty
    // even behind valid(), so such a series is drawn without error bars.
    bool any_sd = false;
    for (double v : t.series[s].sd) any_sd |= std::isfinite(v);
    const std::string using_ = any_sd ? "2:(" + scale + "$" + m + "):(" + scale + "(valid(" + sd + ") ? $" + sd +
                                            " : 0)) with yerrorlines"
                                      : "2:(" + scale + "$" + m + ") with linespoints";
    plot += (plot.empty() ? "plot " : ", \\\n     ") + gp_string(csv) + " skip 1 using " + using_ + " pt 7 lc " +
            std::to_string(s + 1) + " title " + gp_string(t.series[s].label);
  }
  if (plot.empty()) plot = "set label 'no finite values to plot' at graph 0.5, 0.5 center\nplot 1 notitle";
  gp << plot << "\nunset logscale x\nset autoscale x\nset xlabel 'epoch'\nset key top right\n";
  return gp.str();
}

}  // namespace plast
