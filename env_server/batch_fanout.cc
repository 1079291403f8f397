#include "env_server/batch_fanout.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_map.h"

namespace agentgym::env {

void RunGroupedConcurrently(const std::vector<absl::string_view>& keys, int max_threads,
                            absl::FunctionRef<void(size_t)> run) {
  absl::flat_hash_map<absl::string_view, size_t> group_of;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [it, inserted] = group_of.try_emplace(keys[i], groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  const size_t threads = std::min<size_t>(groups.size(), std::max(1, max_threads));
  std::atomic<size_t> next_group{0};
  auto drain = [&] {
    for (size_t g; (g = next_group.fetch_add(1)) < groups.size();) {
      for (size_t i : groups[g]) run(i);
    }
  };
  // Threads live for one batch only: a batch of blocking steps takes
  // milliseconds at least, thread start-up microseconds.
  std::vector<std::thread> helpers;
  helpers.reserve(threads > 0 ? threads - 1 : 0);
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(drain);
  drain();
  for (auto& h : helpers) h.join();
}

}  // namespace agentgym::env
