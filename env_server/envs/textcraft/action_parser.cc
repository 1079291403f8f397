#include "env_server/envs/textcraft/action_parser.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace agentgym::env::textcraft {
namespace {

constexpr std::string_view kActionTag = "action:";
constexpr size_t kMaxCountDigits = 12;

// Debian's Abseil has its own string_view type, so std::string_view gets
// these small helpers instead of absl::StripAsciiWhitespace and friends.
std::string_view Strip(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// The command part of a reply (see the header), or nullopt-equivalent false
// when "Action:" occurs more than once.
bool ExtractCommand(std::string_view raw, std::string_view* command) {
  size_t found = std::string_view::npos;
  int occurrences = 0;
  for (size_t i = 0; i + kActionTag.size() <= raw.size(); ++i) {
    if (EqualsIgnoreCase(raw.substr(i, kActionTag.size()), kActionTag)) {
      if (++occurrences > 1) return false;
      found = i;
    }
  }
  if (found == std::string_view::npos) {
    *command = raw;
    return true;
  }
  std::string_view rest = raw.substr(found + kActionTag.size());
  size_t start = 0;
  while (start < rest.size() && absl::ascii_isspace(static_cast<unsigned char>(rest[start]))) {
    ++start;
  }
  rest.remove_prefix(start);
  *command = rest.substr(0, rest.find('\n'));
  return true;
}

std::string Normalise(std::string_view command) {
  std::string out;
  out.reserve(command.size());
  bool space = false;
  for (char ch : command) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool keep = absl::ascii_isalnum(c) || c == ',' || c == ':' || c == '_';
    if (!keep) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(absl::ascii_tolower(c));
  }
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "<n> <rest>": sets count (-1 when too long to be sane) and rest.
bool SplitCount(std::string_view s, int64_t* count, std::string_view* rest) {
  size_t sp = s.find(' ');
  if (sp == std::string_view::npos || !AllDigits(s.substr(0, sp))) return false;
  std::string_view digits = s.substr(0, sp);
  *count = -1;
  if (digits.size() <= kMaxCountDigits) {
    int64_t v = 0;
    for (char c : digits) v = v * 10 + (c - '0');
    *count = v;
  }
  *rest = Strip(s.substr(sp + 1));
  return !rest->empty();
}

}  // namespace

ParsedAction ParseAction(std::string_view raw) {
  ParsedAction a;
  std::string_view command;
  if (!ExtractCommand(raw, &command)) {
    a.kind = ParsedAction::Kind::kMultipleActions;
    return a;
  }
  a.text = Normalise(command);
  std::string_view t = a.text;
  if (t == "inventory" || t == "look") {
    a.kind = ParsedAction::Kind::kInventory;
    return a;
  }
  if (ConsumePrefix(&t, "get ")) {
    std::string_view rest;
    if (SplitCount(t, &a.count, &rest)) {
      a.kind = ParsedAction::Kind::kGet;
      a.item = std::string(rest);
    }
    return a;
  }
  if (ConsumePrefix(&t, "craft ")) {
    size_t using_at = t.find(" using ");
    if (using_at == std::string_view::npos) return a;
    std::string_view out = Strip(t.substr(0, using_at));
    std::string_view ins = t.substr(using_at + 7);
    std::string_view name;
    if (SplitCount(out, &a.count, &name)) {
      a.item = std::string(name);
    } else {
      a.count = -1;
      a.item = std::string(out);
    }
    if (a.item.empty()) return a;
    a.kind = ParsedAction::Kind::kCraft;
    for (size_t from = 0; from <= ins.size();) {
      size_t comma = std::min(ins.find(',', from), ins.size());
      std::string_view part = Strip(ins.substr(from, comma - from));
      from = comma + 1;
      int64_t n = 0;
      std::string_view ing;
      if (!SplitCount(part, &n, &ing)) {
        a.has_bad_input = true;
        a.bad_input = std::string(part);
        break;
      }
      a.inputs.emplace_back(n, std::string(ing));
    }
    return a;
  }
  return a;
}

}  // namespace agentgym::env::textcraft
