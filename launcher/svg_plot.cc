#include "launcher/svg_plot.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agentgym::launcher {
namespace {

// Colour-blind-safe palette (Okabe & Ito).
constexpr const char* kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                   "#E69F00", "#56B4E9", "#F0E442", "#000000"};

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

std::string TickLabel(double v, double step) {
  if (std::abs(v) < step * 1e-6) return "0";
  if (step >= 1 && std::abs(v) < 1e6) return absl::StrFormat("%.0f", v);
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step))));
  if (std::abs(v) >= 1e6 || std::abs(v) < 1e-4) return absl::StrFormat("%.2g", v);
  return absl::StrFormat("%.*f", decimals, v);
}

}  // namespace

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || target < 1) return ticks;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string RenderLinePlot(const PlotOptions& o, const std::vector<PlotSeries>& series,
                           const std::vector<PlotBand>& bands) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const PlotSeries& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  for (const PlotBand& b : bands) {
    x_lo = std::min(x_lo, b.x0);
    x_hi = std::max(x_hi, b.x1);
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1;
  if (x_hi <= x_lo) x_hi = x_lo + 1;
  if (o.y_min) y_lo = *o.y_min;
  if (o.y_max) y_hi = *o.y_max;
  if (!std::isfinite(y_lo) || !std::isfinite(y_hi)) y_lo = 0, y_hi = 1;
  if (y_hi <= y_lo) {
    const double pad = std::max(std::abs(y_lo) * 0.1, 1e-3);
    y_lo -= pad;
    y_hi += pad;
  }
  const double left = 64, right = 16 + 150, top = 34, bottom = 44;
  const double pw = o.width - left - right, ph = o.height - top - bottom;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * pw; };
  auto py = [&](double y) { return top + ph - (y - y_lo) / (y_hi - y_lo) * ph; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      o.width, o.height, o.width, o.height);
  absl::StrAppend(&svg, "<text x=\"", Num(left), "\" y=\"18\" font-size=\"14\" font-weight=\"bold\">",
                  XmlEscape(o.title), "</text>\n");
  for (size_t i = 0; i < bands.size(); ++i) {
    const double x0 = px(std::max(bands[i].x0, x_lo)), x1 = px(std::min(bands[i].x1, x_hi));
    if (x1 <= x0) continue;
    absl::StrAppend(&svg, "<rect class=\"band\" x=\"", Num(x0), "\" y=\"", Num(top), "\" width=\"",
                    Num(x1 - x0), "\" height=\"", Num(ph), "\" fill=\"",
                    i % 2 == 0 ? "#eeeeee" : "#dddddd", "\"/>\n");
    absl::StrAppend(&svg, "<text x=\"", Num(x0 + 3), "\" y=\"", Num(top + 12), "\" fill=\"#555\">",
                    XmlEscape(bands[i].label), "</text>\n");
  }
  // Axes, grid and ticks.
  absl::StrAppend(&svg, "<g stroke=\"#999\" stroke-width=\"1\">\n");
  for (double t : NiceTicks(y_lo, y_hi)) {
    absl::StrAppend(&svg, "<line x1=\"", Num(left), "\" x2=\"", Num(left + pw), "\" y1=\"",
                    Num(py(t)), "\" y2=\"", Num(py(t)), "\" stroke=\"#e5e5e5\"/>\n");
  }
  absl::StrAppend(&svg, "<line x1=\"", Num(left), "\" y1=\"", Num(top + ph), "\" x2=\"",
                  Num(left + pw), "\" y2=\"", Num(top + ph), "\"/>\n", "<line x1=\"", Num(left),
                  "\" y1=\"", Num(top), "\" x2=\"", Num(left), "\" y2=\"", Num(top + ph), "\"/>\n",
                  "</g>\n");
  const std::vector<double> yt = NiceTicks(y_lo, y_hi), xt = NiceTicks(x_lo, x_hi, 6);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1, xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double t : yt) {
    absl::StrAppend(&svg, "<text x=\"", Num(left - 4), "\" y=\"", Num(py(t) + 4),
                    "\" text-anchor=\"end\">", TickLabel(t, ystep), "</text>\n");
  }
  for (double t : xt) {
    absl::StrAppend(&svg, "<text x=\"", Num(px(t)), "\" y=\"", Num(top + ph + 14),
                    "\" text-anchor=\"middle\">", TickLabel(t, xstep), "</text>\n");
  }
  absl::StrAppend(&svg, "<text x=\"", Num(left + pw / 2), "\" y=\"", Num(o.height - 8),
                  "\" text-anchor=\"middle\">", XmlEscape(o.x_label), "</text>\n");
  absl::StrAppend(&svg, "<text transform=\"translate(14,", Num(top + ph / 2),
                  ") rotate(-90)\" text-anchor=\"middle\">", XmlEscape(o.y_label), "</text>\n");
  // Bands under every line, then the lines and the legend.
  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& s = series[k];
    if (s.y_low.size() != s.x.size() || s.y_high.size() != s.x.size() || s.x.empty()) continue;
    std::string upper, lower;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y_low[i]) || !std::isfinite(s.y_high[i])) continue;
      absl::StrAppend(&upper, upper.empty() ? "" : " ", Num(px(s.x[i])), ",",
                      Num(py(std::clamp(s.y_high[i], y_lo, y_hi))));
      lower = absl::StrCat(Num(px(s.x[i])), ",", Num(py(std::clamp(s.y_low[i], y_lo, y_hi))),
                           lower.empty() ? "" : " ", lower);
    }
    if (upper.empty()) continue;
    absl::StrAppend(&svg, "<polygon class=\"band\" fill=\"",
                    kColors[k % (sizeof(kColors) / sizeof(kColors[0]))], "\" fill-opacity=\"0.15\" stroke=\"none\" points=\"",
                    upper, " ", lower, "\"/>\n");
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& s = series[k];
    const char* color = kColors[k % (sizeof(kColors) / sizeof(kColors[0]))];
    std::string points;
    auto flush = [&]() {
      if (points.empty()) return;
      absl::StrAppend(&svg, "<polyline class=\"series\" fill=\"none\" stroke=\"", color,
                      "\" stroke-width=\"1.5\" points=\"", points, "\"/>\n");
      points.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      const double y = std::clamp(s.y[i], y_lo, y_hi);
      absl::StrAppend(&points, points.empty() ? "" : " ", Num(px(s.x[i])), ",", Num(py(y)));
    }
    flush();
    const double ly = top + 10 + 16 * static_cast<double>(k);
    absl::StrAppend(&svg, "<line x1=\"", Num(left + pw + 10), "\" x2=\"", Num(left + pw + 28),
                    "\" y1=\"", Num(ly), "\" y2=\"", Num(ly), "\" stroke=\"", color,
                    "\" stroke-width=\"2\"/>\n<text x=\"", Num(left + pw + 32), "\" y=\"",
                    Num(ly + 4), "\">", XmlEscape(s.name), "</text>\n");
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace agentgym::launcher
