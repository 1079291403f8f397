// Measures BpeTokenizer::Encode throughput on mixed text (English prose, code,
// CJK, emoji, numbers, whitespace runs), cold (empty piece cache) and warm.
//   tokenizer_throughput <tokenizer.json[.gz]> [megabytes]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "policy/tokenizer/bpe_tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <tokenizer.json[.gz]> [megabytes]\n", argv[0]);
    return 2;
  }
  const double megabytes = argc > 2 ? std::atof(argv[2]) : 8.0;
  const absl::Time load_start = absl::Now();
  auto tok = agentgym::policy::BpeTokenizer::FromFile(argv[1]);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tok.status().message()).c_str());
    return 1;
  }
  std::printf("load: %.2f s\n", absl::ToDoubleSeconds(absl::Now() - load_start));
  const std::string samples[] = {
      "The quick brown fox jumps over the lazy dog. You are in a room; exits are north and east.\n",
      "def step(self, action):\n    obs, reward = self.env.step(action)\n    return obs, reward * 0.99\n",
      "\xE6\x88\x91\xE7\x88\xB1\xE8\x87\xAA\xE7\x84\xB6\xE8\xAF\xAD\xE8\xA8\x80\xE5\xA4\x84\xE7\x90\x86\xE3\x80\x82 ",
      "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok ",
      "Order #123456 cost $78.90 on 2026-11-25 at 12:34:56.\n",
      "    \n\n\t  indented   text   with    runs of   spaces\n",
  };
  std::string text;
  unsigned seed = 1;
  while (text.size() < megabytes * 1e6) {
    seed = seed * 1103515245u + 12345u;
    std::string chunk = samples[(seed >> 16) % 6];
    // Vary numbers and words a little so the cache sees a realistic mix.
    chunk += std::to_string(seed % 100000) + " w" + std::to_string((seed >> 8) % 5000) + " ";
    text += chunk;
  }
  for (const char* pass : {"cold", "warm"}) {
    const absl::Time start = absl::Now();
    size_t tokens = 0;
    // Encode line-sized documents, as an actor would.
    for (size_t pos = 0; pos < text.size(); pos += 4096) {
      size_t end = std::min(text.size(), pos + 4096);
      while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      auto ids = (*tok)->Encode(std::string_view(text).substr(pos, end - pos), true);
      if (!ids.ok()) {
        std::fprintf(stderr, "%s\n", std::string(ids.status().message()).c_str());
        return 1;
      }
      tokens += ids->size();
      pos = end - 4096;
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("%s: %.1f MB in %.2f s = %.2f MB/s, %.0f tokens/s (%zu tokens)\n", pass,
                text.size() / 1e6, seconds, text.size() / 1e6 / seconds, tokens / seconds, tokens);
  }
  return 0;
}
