#include "launcher/summary.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "launcher/svg_plot.h"
#include "nlohmann/json.hpp"

namespace agentgym::launcher {
namespace {

void Flatten(const nlohmann::json& j, const std::string& prefix, MetricsRow* row) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      Flatten(it.value(), prefix.empty() ? it.key() : absl::StrCat(prefix, ".", it.key()), row);
    }
  } else if (j.is_number()) {
    (*row)[prefix] = j.get<double>();
  } else if (j.is_boolean()) {
    (*row)[prefix] = j.get<bool>() ? 1.0 : 0.0;
  }
}

struct PlotSpec {
  std::string file, title, y_label;
  std::function<bool(const std::string&)> wants;
  bool unit_range = false;
  bool shade_stages = false;
};

bool Contains(const std::string& key, const char* part) { return absl::StrContains(key, part); }

}  // namespace

absl::StatusOr<std::vector<MetricsRow>> ReadMetricsJsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<MetricsRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) continue;
    MetricsRow row;
    Flatten(j, "", &row);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<HorizonStage> HorizonStages(const std::vector<MetricsRow>& rows) {
  // The default track is "" (key "horizon..stage"); otherwise the first track seen.
  std::string track_prefix;
  for (const MetricsRow& row : rows) {
    for (const auto& [key, v] : row) {
      if (absl::StartsWith(key, "horizon.") && absl::EndsWith(key, ".max_turns")) {
        const std::string prefix = key.substr(0, key.size() - std::string("max_turns").size());
        if (track_prefix.empty() || prefix == "horizon..") track_prefix = prefix;
      }
    }
  }
  std::vector<HorizonStage> stages;
  if (track_prefix.empty()) return stages;
  for (const MetricsRow& row : rows) {
    auto mt = row.find(track_prefix + "max_turns");
    if (mt == row.end()) continue;
    auto st = row.find(track_prefix + "stage");
    const int64_t step = static_cast<int64_t>(row.at("step"));
    const int stage = st == row.end() ? 0 : static_cast<int>(st->second);
    const int max_turns = static_cast<int>(mt->second);
    if (stages.empty() || stages.back().stage != stage || stages.back().max_turns != max_turns) {
      if (!stages.empty() && stages.back().last_step < step) stages.back().last_step = step;
      stages.push_back({step, step, stage, max_turns});
    } else {
      stages.back().last_step = std::max(stages.back().last_step, step);
    }
  }
  return stages;
}

absl::StatusOr<std::string> WriteSummary(const SummaryInputs& in) {
  std::vector<PlotBand> bands;
  for (const HorizonStage& s : HorizonStages(in.coordinator_rows)) {
    bands.push_back({static_cast<double>(s.first_step), static_cast<double>(s.last_step),
                     absl::StrCat("stage ", s.stage, ": ", s.max_turns, " turns")});
  }
  std::set<std::string> keys;
  for (const MetricsRow& row : in.learner_rows) {
    for (const auto& [k, v] : row) keys.insert(k);
  }
  const std::vector<PlotSpec> specs = {
      {"success.svg", "Success rate (training batches)", "success rate",
       [](const std::string& k) { return Contains(k, "success") && !Contains(k, "successes"); },
       true, true},
      {"reward.svg", "Mean reward (training batches)", "reward",
       [](const std::string& k) { return Contains(k, "reward") && !Contains(k, "sum"); }, false,
       true},
      {"loss.svg", "Loss", "loss", [](const std::string& k) { return Contains(k, "loss"); }},
      {"kl.svg", "KL to the reference / behaviour policy", "KL",
       [](const std::string& k) { return Contains(k, "kl"); }},
      {"entropy.svg", "Entropy of sampled tokens", "nats",
       [](const std::string& k) { return Contains(k, "entropy"); }},
      {"groups.svg", "Fraction of groups with mixed rewards", "fraction",
       [](const std::string& k) { return Contains(k, "mixed"); }, true, true},
  };
  std::string plots_md;
  for (const PlotSpec& spec : specs) {
    std::vector<PlotSeries> series;
    for (const std::string& key : keys) {
      // Top-level values only: nested ones are registry snapshots and counters.
      if (key == "step" || key.find('.') != std::string::npos || !spec.wants(key)) continue;
      PlotSeries s;
      s.name = key;
      for (const MetricsRow& row : in.learner_rows) {
        auto v = row.find(key);
        if (v == row.end()) continue;
        s.x.push_back(row.at("step"));
        s.y.push_back(v->second);
      }
      if (!s.x.empty()) series.push_back(std::move(s));
    }
    if (series.empty()) continue;
    PlotOptions o;
    o.title = spec.title;
    o.y_label = spec.y_label;
    if (spec.unit_range) o.y_min = 0, o.y_max = 1;
    const std::string svg =
        RenderLinePlot(o, series, spec.shade_stages ? bands : std::vector<PlotBand>{});
    std::ofstream out(in.run_dir + "/" + spec.file);
    out << svg;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", in.run_dir, "/", spec.file));
    absl::StrAppend(&plots_md, "![", spec.title, "](", spec.file, ")\n\n");
  }

  std::ostringstream md;
  md << "# Run " << in.run_name << "\n\n";
  md << "- outcome: " << in.outcome << "\n";
  int64_t last_step = 0;
  if (!in.learner_rows.empty()) last_step = static_cast<int64_t>(in.learner_rows.back().at("step"));
  md << "- learner steps: " << last_step << " of " << in.total_steps << "\n";
  md << absl::StrFormat("- wall time: %.0f s\n", in.wall_seconds);
  md << "- config: `" << in.config_path << "`\n";
  if (!in.accounting.empty()) md << "- trajectories: " << in.accounting << "\n";
  if (!bands.empty()) {
    md << "- horizon stages:";
    for (const PlotBand& b : bands) md << absl::StrFormat(" [%s from step %.0f]", b.label, b.x0);
    md << "\n";
  }
  md << "\n## Held-out evaluation\n\n";
  if (!in.eval_note.empty()) md << in.eval_note << "\n\n";
  md << (in.eval_table.empty() ? std::string("No evaluation ran.\n") : in.eval_table) << "\n";
  md << "\n## Training curves\n\n";
  md << (plots_md.empty() ? std::string("No learner metrics were recorded.\n") : plots_md);
  md << "Files: `learner-metrics.jsonl` (per learner step), `coordinator-metrics.jsonl`, "
        "`logs/<process>.log`, `checkpoints/`.\n";
  const std::string path = in.run_dir + "/summary.md";
  std::ofstream out(path);
  out << md.str();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return path;
}

}  // namespace agentgym::launcher
