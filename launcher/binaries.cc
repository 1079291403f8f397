#include "launcher/binaries.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace agentgym::launcher {

absl::StatusOr<std::string> FindBinary(const std::string& name, const std::string& bin_dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::string dir = bin_dir;
  if (dir.empty()) {
    if (const char* env = std::getenv("AGENTGYM_BIN_DIR"); env != nullptr) dir = env;
  }
  if (!dir.empty()) {
    candidates.push_back(fs::path(dir) / name);
  } else {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      const fs::path here = self.parent_path();
      candidates.push_back(here / name);
      for (const char* sub : {"scheduler", "env_server", "actor", "learner", "launcher"}) {
        candidates.push_back(here.parent_path() / sub / name);
      }
    }
    if (const char* path = std::getenv("PATH"); path != nullptr) {
      for (absl::string_view p : absl::StrSplit(path, ':', absl::SkipEmpty())) {
        candidates.push_back(fs::path(std::string(p)) / name);
      }
    }
  }
  std::vector<std::string> tried;
  for (const fs::path& c : candidates) {
    if (access(c.c_str(), X_OK) == 0 && fs::is_regular_file(c)) return c.string();
    tried.push_back(c.string());
  }
  return absl::NotFoundError(absl::StrCat("cannot find ", name, " (looked at ",
                                          absl::StrJoin(tried, ", "),
                                          "); build it or pass --bin-dir"));
}

}  // namespace agentgym::launcher
