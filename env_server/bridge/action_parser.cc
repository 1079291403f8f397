#include "env_server/bridge/action_parser.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace agentgym::env::bridge {
namespace {

// Bounds backtracking so no agent text can make a step spin.
constexpr uint32_t kMatchLimit = 1000000;

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using Code = std::unique_ptr<pcre2_code, CodeDeleter>;

absl::StatusOr<Code> Compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_DOTALL | PCRE2_MATCH_INVALID_UTF, &error,
                                   &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return absl::InvalidArgumentError(absl::StrCat("action pattern '", pattern, "' at offset ",
                                                   offset, ": ",
                                                   reinterpret_cast<const char*>(message)));
  }
  return Code(code);
}

// Every non-overlapping match of `code` in `text`: [start, end) of group 1
// (or of the whole match) and of the whole match.
struct Match {
  size_t start, end, whole_start, whole_end;
};

std::vector<Match> FindAll(const pcre2_code* code, std::string_view text) {
  std::vector<Match> out;
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context, kMatchLimit);
  uint32_t groups = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
  size_t at = 0;
  while (at <= text.size()) {
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at, 0,
                         data, context);
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
    Match m{ov[0], ov[1], ov[0], ov[1]};
    if (groups >= 1 && ov[2] != PCRE2_UNSET) {
      m.start = ov[2];
      m.end = ov[3];
    }
    out.push_back(m);
    at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
  }
  pcre2_match_context_free(context);
  pcre2_match_data_free(data);
  return out;
}

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

struct ActionParser::Compiled {
  Code pattern;
  Code deleter;
};

ActionParser::ActionParser(ActionParserConfig config)
    : config_(std::move(config)), compiled_(std::make_unique<Compiled>()) {}
ActionParser::~ActionParser() = default;

absl::StatusOr<std::unique_ptr<ActionParser>> ActionParser::Create(ActionParserConfig config) {
  std::unique_ptr<ActionParser> parser(new ActionParser(std::move(config)));
  if (!parser->config_.pattern.empty()) {
    auto code = Compile(parser->config_.pattern);
    if (!code.ok()) return code.status();
    parser->compiled_->pattern = *std::move(code);
  }
  if (!parser->config_.delete_pattern.empty()) {
    auto code = Compile(parser->config_.delete_pattern);
    if (!code.ok()) return code.status();
    parser->compiled_->deleter = *std::move(code);
  }
  return parser;
}

ParsedAction ActionParser::Parse(std::string_view text) const {
  ParsedAction out;
  for (const auto& suffix : config_.strip_suffixes) {
    if (!suffix.empty() && text.size() >= suffix.size() &&
        text.substr(text.size() - suffix.size()) == suffix) {
      text.remove_suffix(suffix.size());
    }
  }
  std::string action(text);
  if (compiled_->pattern) {
    std::vector<Match> matches = FindAll(compiled_->pattern.get(), text);
    if (matches.size() > 1 && config_.pick == ActionParserConfig::Pick::kRejectMultiple) {
      return {true, "", config_.multiple_message};
    }
    if (matches.empty()) {
      switch (config_.on_no_match) {
        case ActionParserConfig::NoMatch::kRaw: break;
        case ActionParserConfig::NoMatch::kEmpty: action.clear(); break;
        case ActionParserConfig::NoMatch::kReject: return {true, "", config_.reject_message};
      }
    } else {
      const Match& m =
          config_.pick == ActionParserConfig::Pick::kLast ? matches.back() : matches.front();
      action = std::string(text.substr(m.start, m.end - m.start));
    }
  }
  if (compiled_->deleter) {
    std::string kept;
    size_t from = 0;
    for (const Match& m : FindAll(compiled_->deleter.get(), action)) {
      kept.append(action, from, m.whole_start - from);
      from = m.whole_end;
    }
    kept.append(action, from, std::string::npos);
    action = std::move(kept);
  }
  if (config_.collapse_whitespace) action = CollapseWhitespace(action);
  if (config_.trim) action = std::string(absl::StripAsciiWhitespace(action));
  for (const auto& [from, to] : config_.aliases) {
    if (absl::EqualsIgnoreCase(action, from)) {
      action = to;
      break;
    }
  }
  out.action = std::move(action);
  return out;
}

struct Pattern::Code {
  ::agentgym::env::bridge::Code code;
};

Pattern::Pattern() : code_(std::make_unique<Code>()) {}
Pattern::~Pattern() = default;

absl::StatusOr<std::unique_ptr<Pattern>> Pattern::Compile(const std::string& pattern) {
  auto code = ::agentgym::env::bridge::Compile(pattern);
  if (!code.ok()) return code.status();
  std::unique_ptr<Pattern> p(new Pattern());
  p->code_->code = *std::move(code);
  return p;
}

bool Pattern::Matches(std::string_view text) const {
  return !FindAll(code_->code.get(), text).empty();
}

}  // namespace agentgym::env::bridge
