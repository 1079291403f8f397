#include "env_server/envs/searchqa/action_text.h"

namespace agentgym::env::searchqa {
namespace {

bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string_view TrimAscii(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

BracketAction ParseBracketAction(std::string_view text) {
  BracketAction out;
  const std::string lowered = Lower(text);
  constexpr std::string_view kPrefix = "action:";
  if (size_t at = lowered.rfind(kPrefix); at != std::string::npos) {
    text.remove_prefix(at + kPrefix.size());
  }
  text = TrimAscii(text);
  if (text.empty()) {
    out.error = "Empty action. Write one action such as search[your query].";
    return out;
  }
  const size_t open = text.find('[');
  if (open == std::string_view::npos) {
    out.error = "No '[' found. Actions look like verb[argument], e.g. search[your query].";
    return out;
  }
  const size_t close = text.rfind(']');
  if (close == std::string_view::npos || close < open) {
    out.error = "Missing the closing ']'. Actions look like verb[argument].";
    return out;
  }
  if (!TrimAscii(text.substr(close + 1)).empty()) {
    out.error = "Unexpected text after ']'. Write exactly one action per turn.";
    return out;
  }
  out.verb = Lower(TrimAscii(text.substr(0, open)));
  if (out.verb.empty()) {
    out.error = "Missing the action name before '['.";
    return out;
  }
  out.argument = std::string(TrimAscii(text.substr(open + 1, close - open - 1)));
  out.ok = true;
  return out;
}

}  // namespace agentgym::env::searchqa
