#include "policy/tokenizer/word_tokenizer.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "policy/tokenizer/file_util.h"
#include "policy/tokenizer/unicode_text.h"

namespace agentgym::policy {
namespace {

using Json = nlohmann::json;

constexpr char kFormat[] = "agentgym.word_tokenizer";
constexpr int kFormatVersion = 1;

bool IsWordByte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c >= 0x80;
}
bool IsSpaceByte(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

std::string WordTokenizer::ByteTokenName(unsigned char b) { return absl::StrFormat("<0x%02X>", b); }

void WordTokenizer::SplitPieces(std::string_view text, std::vector<std::string_view>* pieces) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const size_t start = i;
    // A single space attaches to the word or punctuation mark after it.
    const size_t body = (text[i] == ' ' && i + 1 < n && !IsSpaceByte(text[i + 1])) ? i + 1 : i;
    const auto c = static_cast<unsigned char>(text[body]);
    if (IsWordByte(c)) {
      i = body;
      while (i < n && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    } else if (IsSpaceByte(c)) {
      i = body + 1;
    } else {
      i = body + 1;  // one ASCII punctuation or control byte
    }
    pieces->push_back(text.substr(start, i - start));
  }
}

absl::StatusOr<std::unique_ptr<WordTokenizer>> WordTokenizer::Create(std::vector<std::string> specials,
                                                                     std::vector<std::string> words,
                                                                     bool byte_fallback) {
  if (!byte_fallback && specials.empty()) {
    return absl::InvalidArgumentError("word tokenizer: without byte fallback, an unknown token is needed");
  }
  std::unique_ptr<WordTokenizer> tok(new WordTokenizer());
  tok->num_special_ = static_cast<int32_t>(specials.size());
  tok->byte_fallback_ = byte_fallback;
  auto add = [&](std::string spelling, std::string bytes) -> absl::Status {
    const auto id = static_cast<int32_t>(tok->tokens_.size());
    if (!tok->token_ids_.emplace(spelling, id).second) {
      return absl::InvalidArgumentError(absl::StrCat("word tokenizer: duplicate token '", spelling, "'"));
    }
    tok->tokens_.push_back(std::move(spelling));
    tok->bytes_.push_back(std::move(bytes));
    return absl::OkStatus();
  };
  for (auto& special : specials) {
    if (special.empty() || !IsValidUtf8(special)) {
      return absl::InvalidArgumentError("word tokenizer: special tokens must be non-empty UTF-8");
    }
    AddedToken token;
    token.id = static_cast<int32_t>(tok->tokens_.size());
    token.content = special;
    token.special = true;
    AG_RETURN_IF_ERROR(tok->specials_.Add(std::move(token)));
    AG_RETURN_IF_ERROR(add(special, special));
  }
  for (int b = 0; byte_fallback && b < 256; ++b) {
    AG_RETURN_IF_ERROR(add(ByteTokenName(static_cast<unsigned char>(b)), std::string(1, static_cast<char>(b))));
  }
  for (auto& word : words) {
    if (word.empty() || !IsValidUtf8(word)) {
      return absl::InvalidArgumentError("word tokenizer: words must be non-empty UTF-8");
    }
    std::vector<std::string_view> pieces;
    SplitPieces(word, &pieces);
    if (pieces.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat("word tokenizer: '", word, "' is not a single piece"));
    }
    tok->word_ids_.emplace(word, static_cast<int32_t>(tok->tokens_.size()));
    AG_RETURN_IF_ERROR(add(word, word));
  }
  return tok;
}

absl::StatusOr<std::unique_ptr<WordTokenizer>> WordTokenizer::Build(absl::Span<const std::string> texts,
                                                                    const BuildOptions& options) {
  absl::flat_hash_map<std::string, size_t> counts;
  std::vector<std::string_view> pieces;
  for (const std::string& text : texts) {
    if (!IsValidUtf8(text)) return absl::InvalidArgumentError("word tokenizer: training text is not valid UTF-8");
    pieces.clear();
    SplitPieces(text, &pieces);
    for (std::string_view piece : pieces) ++counts[AsAbsl(piece)];
  }
  std::vector<std::pair<std::string, size_t>> ranked;
  for (auto& [piece, count] : counts) {
    if (count >= options.min_count) ranked.emplace_back(piece, count);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> words;
  for (auto& [piece, count] : ranked) {
    if (words.size() >= options.max_words) break;
    // Special-token text in the corpus must not also become a word piece.
    if (std::find(options.special_tokens.begin(), options.special_tokens.end(), piece) !=
        options.special_tokens.end()) {
      continue;
    }
    words.push_back(piece);
  }
  std::vector<std::string> specials = options.special_tokens;
  if (!options.byte_fallback) {
    if (std::find(specials.begin(), specials.end(), options.unknown_token) != specials.end()) {
      return absl::InvalidArgumentError(absl::StrCat("word tokenizer: unknown token '", options.unknown_token,
                                                     "' is already a special token"));
    }
    specials.push_back(options.unknown_token);
    words.erase(std::remove(words.begin(), words.end(), options.unknown_token), words.end());
  }
  return Create(std::move(specials), std::move(words), options.byte_fallback);
}

std::string WordTokenizer::ToJson() const {
  Json json;
  json["format"] = kFormat;
  json["version"] = kFormatVersion;
  json["special_tokens"] = std::vector<std::string>(tokens_.begin(), tokens_.begin() + num_special_);
  json["words"] = std::vector<std::string>(tokens_.begin() + num_special_ + (byte_fallback_ ? 256 : 0),
                                           tokens_.end());
  // Written only when off, so files of tokenizers with byte fallback stay
  // as they were.
  if (!byte_fallback_) json["byte_fallback"] = false;
  return json.dump(1);
}

absl::Status WordTokenizer::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << ToJson();
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WordTokenizer>> WordTokenizer::FromJson(std::string_view text) {
  Json json = Json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError("word tokenizer: not a JSON object");
  }
  auto format = json.find("format");
  if (format == json.end() || !format->is_string() || format->get<std::string>() != kFormat) {
    return absl::InvalidArgumentError(absl::StrCat("word tokenizer: \"format\" must be \"", kFormat, "\""));
  }
  auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer() || version->get<int64_t>() != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("word tokenizer: \"version\" must be ", kFormatVersion));
  }
  auto read_list = [&](const char* key) -> absl::StatusOr<std::vector<std::string>> {
    auto it = json.find(key);
    if (it == json.end() || !it->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat("word tokenizer: \"", key, "\" must be an array"));
    }
    std::vector<std::string> out;
    for (const Json& item : *it) {
      if (!item.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat("word tokenizer: \"", key, "\" must hold strings"));
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  };
  AG_ASSIGN_OR_RETURN(std::vector<std::string> specials, read_list("special_tokens"));
  AG_ASSIGN_OR_RETURN(std::vector<std::string> words, read_list("words"));
  bool byte_fallback = true;
  if (auto it = json.find("byte_fallback"); it != json.end()) {
    if (!it->is_boolean()) return absl::InvalidArgumentError("word tokenizer: \"byte_fallback\" must be a boolean");
    byte_fallback = it->get<bool>();
  }
  return Create(std::move(specials), std::move(words), byte_fallback);
}

absl::StatusOr<std::unique_ptr<WordTokenizer>> WordTokenizer::FromFile(const std::string& path) {
  AG_ASSIGN_OR_RETURN(std::string json, ReadFileMaybeGzip(path, /*max_bytes=*/size_t{256} << 20));
  return FromJson(json);
}

absl::StatusOr<std::vector<int32_t>> WordTokenizer::Encode(std::string_view text, bool allow_special) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("Encode: text is not valid UTF-8");
  std::vector<int32_t> ids;
  std::vector<AddedVocabulary::Segment> segments;
  specials_.Split(text, allow_special, &segments);
  std::vector<std::string_view> pieces;
  for (const auto& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    pieces.clear();
    SplitPieces(segment.text, &pieces);
    for (std::string_view piece : pieces) {
      if (auto it = word_ids_.find(AsAbsl(piece)); it != word_ids_.end()) {
        ids.push_back(it->second);
        continue;
      }
      if (!byte_fallback_) {
        ids.push_back(num_special_ - 1);  // the unknown token
        continue;
      }
      for (unsigned char c : piece) ids.push_back(num_special_ + c);
    }
  }
  return ids;
}

absl::StatusOr<std::string> WordTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= VocabSize()) {
      return absl::InvalidArgumentError(absl::StrCat("Decode: unknown token id ", id));
    }
    out += bytes_[id];
  }
  return out;
}

absl::StatusOr<std::string> WordTokenizer::Normalize(std::string_view text) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("text is not valid UTF-8");
  return std::string(text);
}

std::optional<int32_t> WordTokenizer::TokenToId(std::string_view token) const {
  auto it = token_ids_.find(AsAbsl(token));
  if (it == token_ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<int32_t> WordTokenizer::unknown_id() const {
  if (byte_fallback_) return std::nullopt;
  return num_special_ - 1;
}

std::vector<int32_t> WordTokenizer::SpecialIds() const {
  std::vector<int32_t> ids(num_special_);
  for (int32_t i = 0; i < num_special_; ++i) ids[i] = i;
  return ids;
}

}  // namespace agentgym::policy
