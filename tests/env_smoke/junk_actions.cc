#include "tests/env_smoke/junk_actions.h"

#include <algorithm>
#include <utility>

namespace agentgym::testing {
namespace {

void AppendCodePoint(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Verbs of every built-in env, and the punctuation their grammars use.
constexpr const char* kVerbs[] = {
    "search[", "click[", "open[", "answer[", "go to ", "pick up ", "put ", "craft 1 ",
    "get 1 ", "focus on ", "use ", "connect ", "mix ", "guess ", "move ", "toggle ",
    "examine ", "drop ", "Action: ", "<search>", "<answer>"};
constexpr const char* kPunctuation[] = {"[", "]", "[[", "]]", "<", ">", ",", ":", " ",
                                        "\n", "\t", "Action:", "using", "to", "in", "on"};

}  // namespace

JunkActions::JunkActions(uint64_t seed, int64_t max_action_bytes,
                         std::vector<std::string> vocabulary)
    : rng_(seed), max_action_bytes_(max_action_bytes), vocabulary_(std::move(vocabulary)) {
  if (vocabulary_.empty()) vocabulary_.push_back("look");
}

std::string JunkActions::RandomUtf8(DetRng& rng, size_t max_bytes) {
  std::string out;
  const size_t target = rng.Uniform(max_bytes + 1);
  while (out.size() < target) {
    uint32_t cp = 0;
    switch (rng.Uniform(6)) {
      case 0: cp = static_cast<uint32_t>(rng.Uniform(0x20)); break;             // controls, NUL
      case 1:
      case 2: cp = 0x20 + static_cast<uint32_t>(rng.Uniform(0x5F)); break;      // printable ASCII
      case 3: cp = 0xA0 + static_cast<uint32_t>(rng.Uniform(0x700)); break;     // 2-byte
      case 4: cp = 0x4E00 + static_cast<uint32_t>(rng.Uniform(0x5000)); break;  // CJK
      default: cp = 0x1F300 + static_cast<uint32_t>(rng.Uniform(0x300)); break;  // emoji
    }
    AppendCodePoint(cp, out);
  }
  return out;
}

bool JunkActions::IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > text.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string JunkActions::Mutate(std::string text) {
  const int edits = 1 + static_cast<int>(rng_.Uniform(3));
  for (int e = 0; e < edits; ++e) {
    const size_t at = text.empty() ? 0 : rng_.Uniform(text.size() + 1);
    switch (rng_.Uniform(8)) {
      case 0:  // drop a byte range (may cut a multi-byte character: fixed below)
        if (!text.empty()) text.erase(std::min(at, text.size() - 1), 1 + rng_.Uniform(3));
        break;
      case 1: text.insert(at, kPunctuation[rng_.Uniform(std::size(kPunctuation))]); break;
      case 2:
        for (char& c : text) {
          if (c >= 'a' && c <= 'z' && rng_.Bernoulli(0.5)) c = static_cast<char>(c - 32);
        }
        break;
      case 3: text += text.substr(0, rng_.Uniform(text.size() + 1)); break;  // stutter
      case 4: text.insert(at, kVerbs[rng_.Uniform(std::size(kVerbs))]); break;
      case 5: text = text.substr(0, at); break;  // cut short
      case 6: text.insert(at, RandomUtf8(rng_, 8)); break;
      default: text += " " + vocabulary_[rng_.Uniform(vocabulary_.size())]; break;
    }
  }
  // Keep it valid UTF-8: a cut through a character becomes '?'.
  if (!IsValidUtf8(text)) {
    for (char& c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  return text;
}

std::string JunkActions::FromScreen(std::string_view observation) {
  // A run of up to five words somewhere on the screen, behind a random verb,
  // closed with ']' half the time: reaches real entities, ids and buttons.
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < observation.size() && words.size() < 400) {
    while (i < observation.size() && (observation[i] == ' ' || observation[i] == '\n')) ++i;
    size_t j = i;
    while (j < observation.size() && observation[j] != ' ' && observation[j] != '\n') ++j;
    if (j > i) words.push_back(observation.substr(i, j - i));
    i = j;
  }
  std::string out = kVerbs[rng_.Uniform(std::size(kVerbs))];
  if (!words.empty()) {
    const size_t from = rng_.Uniform(words.size());
    const size_t n = 1 + rng_.Uniform(5);
    for (size_t w = from; w < words.size() && w < from + n; ++w) {
      std::string word(words[w].substr(0, 100));  // screens may echo huge actions
      if (rng_.Bernoulli(0.5) && word.size() > 2 && word.front() == '[' && word.back() == ']') {
        word = word.substr(1, word.size() - 2);  // a button label, as click[...] wants it
      }
      if (w > from) out += ' ';
      out += word;
    }
  }
  if (out.back() != ' ' && rng_.Bernoulli(0.5)) out += ']';
  return IsValidUtf8(out) ? out : "look";
}

JunkAction JunkActions::Next(std::string_view last_observation) {
  const uint64_t roll = rng_.Uniform(100);
  if (roll < 20) return {JunkKind::kRandomUtf8, RandomUtf8(rng_, 300)};
  if (roll < 22) {
    std::string huge(static_cast<size_t>(max_action_bytes_) - rng_.Uniform(64), 'a');
    huge.replace(0, 7, "search[");
    return {JunkKind::kHuge, std::move(huge)};
  }
  if (roll < 23) {
    return {JunkKind::kOversize,
            std::string(static_cast<size_t>(max_action_bytes_) + 1 + rng_.Uniform(1000), 'x'),
            /*server_rejects=*/true};
  }
  if (roll < 28) {
    std::string bytes = RandomUtf8(rng_, 20);
    bytes.insert(rng_.Uniform(bytes.size() + 1), 1, static_cast<char>(0xFF - rng_.Uniform(8)));
    return {JunkKind::kInvalidUtf8, std::move(bytes), /*server_rejects=*/true};
  }
  if (roll < 60) {
    std::string text = Mutate(vocabulary_[rng_.Uniform(vocabulary_.size())]);
    // Stutters can grow it past the limit: cut back, at a character boundary.
    if (text.size() > static_cast<size_t>(max_action_bytes_)) {
      size_t cut = static_cast<size_t>(max_action_bytes_);
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      text.resize(cut);
    }
    return {JunkKind::kNearMiss, std::move(text)};
  }
  if (roll < 85) return {JunkKind::kFromScreen, FromScreen(last_observation)};
  return {JunkKind::kCanonical, vocabulary_[rng_.Uniform(vocabulary_.size())]};
}

}  // namespace agentgym::testing
