#ifndef AGENTGYM_CORE_DET_RANDOM_H_
#define AGENTGYM_CORE_DET_RANDOM_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgym {

// A small deterministic PRNG (SplitMix64) with its own distributions.
//
// Environments must give the same episode for the same (task, seed) on every
// platform and standard library; std::uniform_int_distribution and friends are
// implementation-defined, so envs draw through this class only. Not
// thread-safe: one per episode or generator.
class DetRng {
 public:
  explicit DetRng(uint64_t seed) : state_(seed) {}

  // Mixes several values into one seed (e.g. task index and episode seed).
  static uint64_t Mix(uint64_t a, uint64_t b) {
    DetRng r(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
    return r.NextU64();
  }
  // FNV-1a, for seeding from names.
  static uint64_t Hash(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    return h;
  }

  uint64_t NextU64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n); n must be > 0. Lemire's multiply-shift (bias < 2^-64·n).
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(NextU64()) * n) >> 64);
  }
  // Uniform in [lo, hi] inclusive.
  int64_t UniformInt(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Uniform(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  double UniformDouble() { return (NextU64() >> 11) * 0x1.0p-53; }
  bool Bernoulli(double p) { return UniformDouble() < p; }

  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Uniform(i)]);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(v.size())];
  }

 private:
  uint64_t state_;
};

}  // namespace agentgym

#endif  // AGENTGYM_CORE_DET_RANDOM_H_
