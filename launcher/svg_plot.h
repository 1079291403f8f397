#ifndef AGENTGYM_LAUNCHER_SVG_PLOT_H_
#define AGENTGYM_LAUNCHER_SVG_PLOT_H_

// Line plots as standalone SVG text, for the run summary. Written by hand
// because the summary needs only lines, axes, a legend and shaded x-ranges,
// and no Debian C++ package draws plots without pulling in a GUI toolkit.

#include <optional>
#include <string>
#include <vector>

namespace agentgym::launcher {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // same length; a non-finite y breaks the line
  // Optional: a shaded band from y_low to y_high under the line (e.g. the
  // spread over seeds); both the length of x, or empty.
  std::vector<double> y_low, y_high;
};

// A shaded x-range with a label at its top (a curriculum stage).
struct PlotBand {
  double x0 = 0, x1 = 0;
  std::string label;
};

struct PlotOptions {
  std::string title;
  std::string x_label = "learner step";
  std::string y_label;
  int width = 720;
  int height = 300;
  // Fixed y range (e.g. [0, 1] for rates); otherwise fitted to the data.
  std::optional<double> y_min, y_max;
};

// An <svg> document. Deterministic for the same input. Empty series and
// series without finite points are listed in the legend but draw nothing.
std::string RenderLinePlot(const PlotOptions& options, const std::vector<PlotSeries>& series,
                           const std::vector<PlotBand>& bands = {});

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi] (about `target`
// of them).
std::vector<double> NiceTicks(double lo, double hi, int target = 5);

// &, <, >, " escaped for XML text and attributes.
std::string XmlEscape(const std::string& text);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_SVG_PLOT_H_
