#include "learner/learner_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "learner/trajectory_codec.h"
#include "policy/checkpoint.h"

namespace agentgym::learner {

namespace fs = std::filesystem;
using trajectory::v1::Trajectory;

namespace {

absl::Status FsyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path.string(), " to fsync"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("fsync failed on ", path.string()));
  return absl::OkStatus();
}

absl::Status WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsWeightFile(const std::string& name) {
  return name == "config.json" || name.find(".safetensors") != std::string::npos;
}

}  // namespace

std::string CaptureRngState() {
  at::Tensor state = at::detail::getDefaultCPUGenerator().get_state();
  const auto* p = state.data_ptr<uint8_t>();
  std::string hex;
  hex.reserve(state.numel() * 2);
  for (int64_t i = 0; i < state.numel(); ++i) absl::StrAppendFormat(&hex, "%02x", p[i]);
  return hex;
}

absl::Status RestoreRngState(const std::string& hex) {
  if (hex.empty()) return absl::OkStatus();
  if (hex.size() % 2 != 0) return absl::DataLossError("rng state: odd hex length");
  auto state = torch::empty({static_cast<int64_t>(hex.size() / 2)}, torch::kUInt8);
  auto* p = state.data_ptr<uint8_t>();
  for (size_t i = 0; i < hex.size() / 2; ++i) p[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  try {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the default's state
    generator.set_state(state);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("rng state does not restore: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> WriteCheckpoint(const std::string& run_dir, const CheckpointState& state,
                                            Trainer& trainer, const std::string& model_dir, int keep) {
  std::error_code ec;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  fs::create_directories(root, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", root.string(), ": ", ec.message()));
  const std::string name = absl::StrFormat("step-%06d", state.step);
  const fs::path final_dir = root / name;
  const fs::path tmp = root / (name + ".tmp");
  fs::remove_all(tmp, ec);
  AG_RETURN_IF_ERROR(policy::SavePretrained(tmp.string(), trainer.model()));
  if (!model_dir.empty() && fs::is_directory(model_dir)) {
    for (const auto& entry : fs::directory_iterator(model_dir)) {
      const std::string file = entry.path().filename().string();
      if (!entry.is_regular_file() || IsWeightFile(file)) continue;
      fs::copy_file(entry.path(), tmp / file, fs::copy_options::overwrite_existing, ec);
      if (ec) return absl::InternalError(absl::StrCat("cannot copy ", entry.path().string(), ": ", ec.message()));
    }
  }
  AG_RETURN_IF_ERROR(trainer.SaveOptimizer((tmp / "optimizer.pt").string()));
  AG_RETURN_IF_ERROR(WriteFile(tmp / "buffer.bin", [&] {
    std::string bytes;
    AppendTrajectories(state.buffer.waiting, &bytes);
    return bytes;
  }()));
  nlohmann::json j;
  j["step"] = state.step;
  j["policy_version"] = state.policy_version;
  j["final"] = state.final;
  j["tokens_trained"] = state.tokens_trained;
  j["rng_state"] = state.rng_state_hex;
  j["curriculum"] = state.curriculum_json;
  const auto& a = state.buffer.accounting;
  j["accounting"] = {{"received", a.received}, {"trained", a.trained},     {"stale", a.stale},
                     {"rejected", a.rejected}, {"env_error", a.env_error}, {"dropped", a.dropped},
                     {"duplicates", a.duplicates}};
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& [id, status] : state.buffer.ids) ids.push_back({id, status});
  j["trajectory_ids"] = std::move(ids);
  j["buffered"] = state.buffer.waiting.size();
  AG_RETURN_IF_ERROR(WriteFile(tmp / "state.json", j.dump()));
  for (const auto& entry : fs::directory_iterator(tmp)) AG_RETURN_IF_ERROR(FsyncPath(entry.path(), false));
  AG_RETURN_IF_ERROR(FsyncPath(tmp, true));
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  AG_RETURN_IF_ERROR(FsyncPath(root, true));
  AG_RETURN_IF_ERROR(WriteFile(root / "latest.tmp", name + "\n"));
  AG_RETURN_IF_ERROR(FsyncPath(root / "latest.tmp", false));
  fs::rename(root / "latest.tmp", root / "latest", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot update ", (root / "latest").string()));
  AG_RETURN_IF_ERROR(FsyncPath(root, true));
  // Keep the newest `keep` step dirs.
  std::vector<std::string> steps;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_directory() && file.rfind("step-", 0) == 0 && file.find(".tmp") == std::string::npos) {
      steps.push_back(file);
    }
  }
  std::sort(steps.begin(), steps.end());
  for (size_t i = 0; i + keep < steps.size(); ++i) fs::remove_all(root / steps[i], ec);
  return final_dir.string();
}

absl::StatusOr<std::string> LatestCheckpoint(const std::string& run_dir) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  auto name = ReadFile(root / "latest");
  if (!name.ok()) return absl::NotFoundError(absl::StrCat("no checkpoint under ", root.string()));
  std::string n = *name;
  while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
  const fs::path dir = root / n;
  if (!fs::exists(dir / "state.json")) {
    return absl::DataLossError(absl::StrCat((root / "latest").string(), " names ", dir.string(),
                                            ", which has no state.json"));
  }
  return dir.string();
}

absl::StatusOr<CheckpointState> ReadCheckpointState(const std::string& dir) {
  AG_ASSIGN_OR_RETURN(std::string text, ReadFile(fs::path(dir) / "state.json"));
  CheckpointState s;
  try {
    const auto j = nlohmann::json::parse(text);
    s.step = j.at("step").get<int64_t>();
    s.policy_version = j.at("policy_version").get<int64_t>();
    s.final = j.value("final", false);
    s.tokens_trained = j.at("tokens_trained").get<int64_t>();
    s.rng_state_hex = j.at("rng_state").get<std::string>();
    s.curriculum_json = j.at("curriculum").get<std::string>();
    const auto& a = j.at("accounting");
    auto& acc = s.buffer.accounting;
    acc.received = a.at("received");
    acc.trained = a.at("trained");
    acc.stale = a.at("stale");
    acc.rejected = a.at("rejected");
    acc.env_error = a.at("env_error");
    acc.dropped = a.at("dropped");
    acc.duplicates = a.at("duplicates");
    for (const auto& pair : j.at("trajectory_ids")) {
      s.buffer.ids.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<int>());
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(dir, "/state.json: ", e.what()));
  }
  AG_ASSIGN_OR_RETURN(std::string buffer, ReadFile(fs::path(dir) / "buffer.bin"));
  AG_ASSIGN_OR_RETURN(s.buffer.waiting, DecodeTrajectories(buffer));
  return s;
}

}  // namespace agentgym::learner
