#include "policy/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "policy/tokenizer/file_util.h"
#include "policy/tokenizer/unicode_text.h"

namespace agentgym::policy {

using Json = nlohmann::json;

namespace {

// GPT-2's pattern, used by ByteLevel pre-tokenizers with "use_regex": true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// nlohmann's parser recurses per nesting level; bound it before parsing.
constexpr int kMaxJsonDepth = 64;

absl::Status CheckJsonDepth(std::string_view json) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(
            absl::StrCat("tokenizer.json nests deeper than ", kMaxJsonDepth, " levels"));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return absl::OkStatus();
}

// Field accessors that turn a wrong type into INVALID_ARGUMENT naming the path.
const Json* Find(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

absl::StatusOr<std::string> GetString(const Json& object, const char* key, const std::string& path) {
  const Json* value = Find(object, key);
  if (value == nullptr || !value->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".", key, " must be a string"));
  }
  return value->get<std::string>();
}

// A missing or null field reads as `fallback`.
absl::StatusOr<bool> GetBool(const Json& object, const char* key, const std::string& path,
                             bool fallback) {
  const Json* value = Find(object, key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".", key, " must be a boolean"));
  }
  return value->get<bool>();
}

absl::StatusOr<int32_t> GetId(const Json& value, const std::string& path) {
  if (!value.is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " must be an integer id"));
  }
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id >= (int64_t{1} << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " = ", id, " is out of range"));
  }
  return static_cast<int32_t>(id);
}

bool IsEmptyOrNullString(const Json* value) {
  return value == nullptr || value->is_null() || (value->is_string() && value->get_ref<const std::string&>().empty());
}

}  // namespace

// Reads the tokenizer.json sections into a BpeTokenizer.
class BpeTokenizerLoader {
 public:
  static absl::Status LoadNormalizer(const Json& root, BpeTokenizer* tok) {
    const Json* normalizer = Find(root, "normalizer");
    if (normalizer == nullptr || normalizer->is_null()) return absl::OkStatus();
    std::vector<const Json*> steps;
    AG_ASSIGN_OR_RETURN(std::string type, GetString(*normalizer, "type", "normalizer"));
    if (type == "Sequence") {
      const Json* list = Find(*normalizer, "normalizers");
      if (list == nullptr || !list->is_array()) {
        return absl::InvalidArgumentError("normalizer.normalizers must be an array");
      }
      for (const Json& step : *list) steps.push_back(&step);
    } else {
      steps.push_back(normalizer);
    }
    for (const Json* step : steps) {
      AG_ASSIGN_OR_RETURN(std::string step_type, GetString(*step, "type", "normalizer"));
      if (step_type != "NFC") {
        return absl::UnimplementedError(
            absl::StrCat("normalizer type '", step_type, "' is not supported (only NFC)"));
      }
      tok->nfc_ = true;
    }
    return absl::OkStatus();
  }

  static absl::Status AddSplitter(std::string_view pattern, BpeTokenizer* tok) {
    AG_ASSIGN_OR_RETURN(auto splitter, RegexSplitter::Create(pattern));
    tok->splitters_.push_back(std::move(splitter));
    return absl::OkStatus();
  }

  static absl::Status LoadPreTokenizerStep(const Json& step, BpeTokenizer* tok) {
    AG_ASSIGN_OR_RETURN(std::string type, GetString(step, "type", "pre_tokenizer"));
    if (type == "ByteLevel") {
      AG_ASSIGN_OR_RETURN(bool prefix, GetBool(step, "add_prefix_space", "pre_tokenizer", false));
      if (prefix) {
        return absl::UnimplementedError("ByteLevel pre_tokenizer with add_prefix_space=true is not supported");
      }
      AG_ASSIGN_OR_RETURN(bool use_regex, GetBool(step, "use_regex", "pre_tokenizer", true));
      if (use_regex) AG_RETURN_IF_ERROR(AddSplitter(kGpt2Pattern, tok));
      return absl::OkStatus();
    }
    if (type == "Split") {
      const Json* pattern = Find(step, "pattern");
      std::string regex;
      if (pattern != nullptr && pattern->is_object() && Find(*pattern, "Regex") != nullptr) {
        AG_ASSIGN_OR_RETURN(regex, GetString(*pattern, "Regex", "pre_tokenizer.pattern"));
      } else {
        return absl::UnimplementedError("Split pre_tokenizer needs a {\"Regex\": ...} pattern");
      }
      AG_ASSIGN_OR_RETURN(std::string behavior, GetString(step, "behavior", "pre_tokenizer"));
      AG_ASSIGN_OR_RETURN(bool invert, GetBool(step, "invert", "pre_tokenizer", false));
      if (behavior != "Isolated" || invert) {
        return absl::UnimplementedError(absl::StrCat(
            "Split pre_tokenizer behavior '", behavior, "'", invert ? " inverted" : "",
            " is not supported (only Isolated)"));
      }
      return AddSplitter(regex, tok);
    }
    return absl::UnimplementedError(absl::StrCat("pre_tokenizer type '", type, "' is not supported"));
  }

  static absl::Status LoadPreTokenizer(const Json& root, BpeTokenizer* tok) {
    const Json* pre = Find(root, "pre_tokenizer");
    if (pre == nullptr || pre->is_null()) {
      return absl::UnimplementedError("a byte-level BPE tokenizer needs a ByteLevel pre_tokenizer");
    }
    AG_ASSIGN_OR_RETURN(std::string type, GetString(*pre, "type", "pre_tokenizer"));
    bool byte_level = false;
    if (type == "Sequence") {
      const Json* list = Find(*pre, "pretokenizers");
      if (list == nullptr || !list->is_array()) {
        return absl::InvalidArgumentError("pre_tokenizer.pretokenizers must be an array");
      }
      for (const Json& step : *list) {
        AG_RETURN_IF_ERROR(LoadPreTokenizerStep(step, tok));
        byte_level = byte_level || step.value("type", "") == "ByteLevel";
      }
    } else {
      AG_RETURN_IF_ERROR(LoadPreTokenizerStep(*pre, tok));
      byte_level = type == "ByteLevel";
    }
    if (!byte_level) {
      return absl::UnimplementedError("only byte-level BPE is supported (no ByteLevel pre_tokenizer found)");
    }
    return absl::OkStatus();
  }

  static absl::Status CheckDecoder(const Json& root) {
    const Json* decoder = Find(root, "decoder");
    if (decoder == nullptr || decoder->is_null()) return absl::OkStatus();
    AG_ASSIGN_OR_RETURN(std::string type, GetString(*decoder, "type", "decoder"));
    if (type != "ByteLevel") {
      return absl::UnimplementedError(absl::StrCat("decoder type '", type, "' is not supported (only ByteLevel)"));
    }
    return absl::OkStatus();
  }

  static absl::Status LoadModel(const Json& root, BpeTokenizer* tok) {
    const Json* model = Find(root, "model");
    if (model == nullptr || !model->is_object()) {
      return absl::InvalidArgumentError("tokenizer.json has no \"model\" object");
    }
    if (const Json* type = Find(*model, "type"); type != nullptr && !type->is_null()) {
      AG_ASSIGN_OR_RETURN(std::string name, GetString(*model, "type", "model"));
      if (name != "BPE") return absl::UnimplementedError(absl::StrCat("model type '", name, "' is not supported (only BPE)"));
    }
    if (const Json* dropout = Find(*model, "dropout");
        dropout != nullptr && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0)) {
      return absl::UnimplementedError("BPE dropout is not supported");
    }
    AG_ASSIGN_OR_RETURN(bool byte_fallback, GetBool(*model, "byte_fallback", "model", false));
    if (byte_fallback) return absl::UnimplementedError("BPE byte_fallback is not supported");
    if (!IsEmptyOrNullString(Find(*model, "continuing_subword_prefix")) ||
        !IsEmptyOrNullString(Find(*model, "end_of_word_suffix"))) {
      return absl::UnimplementedError("BPE continuing_subword_prefix/end_of_word_suffix are not supported");
    }
    BpeModel::Options options;
    AG_ASSIGN_OR_RETURN(options.ignore_merges, GetBool(*model, "ignore_merges", "model", false));
    const Json* vocab = Find(*model, "vocab");
    if (vocab == nullptr || !vocab->is_object()) {
      return absl::InvalidArgumentError("model.vocab must be an object of token -> id");
    }
    options.vocab.reserve(vocab->size());
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
      AG_ASSIGN_OR_RETURN(int32_t id, GetId(it.value(), absl::StrCat("model.vocab[\"", it.key(), "\"]")));
      options.vocab.emplace_back(it.key(), id);
    }
    const Json* merges = Find(*model, "merges");
    if (merges == nullptr || !merges->is_array()) {
      return absl::InvalidArgumentError("model.merges must be an array");
    }
    options.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const Json& merge = (*merges)[i];
      if (merge.is_string()) {
        // "left right": byte-level tokens never contain a literal space.
        const std::string& text = merge.get_ref<const std::string&>();
        const size_t space = text.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 >= text.size() ||
            text.find(' ', space + 1) != std::string::npos) {
          return absl::InvalidArgumentError(absl::StrCat("model.merges[", i, "] = \"", text,
                                                         "\" is not two tokens separated by a space"));
        }
        options.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        options.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("model.merges[", i, "] must be \"a b\" or [\"a\", \"b\"]"));
      }
    }
    AG_ASSIGN_OR_RETURN(tok->model_, BpeModel::Create(std::move(options)));
    return absl::OkStatus();
  }

  static absl::Status LoadAddedTokens(const Json& root, BpeTokenizer* tok) {
    const Json* added = Find(root, "added_tokens");
    if (added == nullptr || added->is_null()) return absl::OkStatus();
    if (!added->is_array()) return absl::InvalidArgumentError("added_tokens must be an array");
    for (size_t i = 0; i < added->size(); ++i) {
      const Json& entry = (*added)[i];
      const std::string path = absl::StrCat("added_tokens[", i, "]");
      if (!entry.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, " must be an object"));
      AddedToken token;
      const Json* id = Find(entry, "id");
      if (id == nullptr) return absl::InvalidArgumentError(absl::StrCat(path, ".id is missing"));
      AG_ASSIGN_OR_RETURN(token.id, GetId(*id, absl::StrCat(path, ".id")));
      AG_ASSIGN_OR_RETURN(token.content, GetString(entry, "content", path));
      AG_ASSIGN_OR_RETURN(token.special, GetBool(entry, "special", path, false));
      AG_ASSIGN_OR_RETURN(token.lstrip, GetBool(entry, "lstrip", path, false));
      AG_ASSIGN_OR_RETURN(token.rstrip, GetBool(entry, "rstrip", path, false));
      AG_ASSIGN_OR_RETURN(token.single_word, GetBool(entry, "single_word", path, false));
      AG_ASSIGN_OR_RETURN(token.normalized, GetBool(entry, "normalized", path, false));
      if (auto it = tok->added_by_id_.find(token.id);
          it != tok->added_by_id_.end() && it->second != token.content) {
        return absl::InvalidArgumentError(absl::StrCat(path, ".id ", token.id, " is already used by '",
                                                       it->second, "'"));
      }
      tok->added_by_id_[token.id] = token.content;
      tok->added_by_content_[token.content] = token.id;
      if (token.special) tok->special_ids_.push_back(token.id);
      AG_RETURN_IF_ERROR(tok->added_.Add(std::move(token)));
    }
    std::sort(tok->special_ids_.begin(), tok->special_ids_.end());
    tok->special_ids_.erase(std::unique(tok->special_ids_.begin(), tok->special_ids_.end()),
                            tok->special_ids_.end());
    return absl::OkStatus();
  }

  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Load(std::string_view json) {
    AG_RETURN_IF_ERROR(CheckJsonDepth(json));
    Json root = Json::parse(json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return absl::InvalidArgumentError("tokenizer.json is not valid JSON");
    if (!root.is_object()) return absl::InvalidArgumentError("tokenizer.json must be a JSON object");
    std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
    AG_RETURN_IF_ERROR(LoadModel(root, tok.get()));
    AG_RETURN_IF_ERROR(LoadNormalizer(root, tok.get()));
    AG_RETURN_IF_ERROR(LoadPreTokenizer(root, tok.get()));
    AG_RETURN_IF_ERROR(CheckDecoder(root));
    AG_RETURN_IF_ERROR(LoadAddedTokens(root, tok.get()));
    tok->vocab_size_ = tok->model_->IdLimit();
    for (const auto& [id, content] : tok->added_by_id_) tok->vocab_size_ = std::max(tok->vocab_size_, id + 1);
    return tok;
  }
};

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromJson(std::string_view json) {
  // nlohmann::json throws on misuse; none should escape, but a loader fed
  // hostile files must not terminate the process if one does.
  try {
    return BpeTokenizerLoader::Load(json);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromFile(const std::string& path) {
  AG_ASSIGN_OR_RETURN(std::string json, ReadFileMaybeGzip(path));
  auto tokenizer = FromJson(json);
  if (!tokenizer.ok()) {
    return absl::Status(tokenizer.status().code(), absl::StrCat(path, ": ", tokenizer.status().message()));
  }
  return tokenizer;
}

absl::StatusOr<std::string> BpeTokenizer::Normalize(std::string_view text) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("text is not valid UTF-8");
  if (!nfc_) return std::string(text);
  return NfcNormalize(text);
}

absl::StatusOr<std::vector<int32_t>> BpeTokenizer::Encode(std::string_view text,
                                                          bool allow_special) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("Encode: text is not valid UTF-8");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  std::vector<AddedVocabulary::Segment> segments;
  added_.Split(text, allow_special, &segments);
  std::vector<std::string_view> pieces;
  std::vector<std::string_view> next;
  std::string normalized;
  for (const auto& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    std::string_view plain = segment.text;
    if (nfc_) {
      AG_ASSIGN_OR_RETURN(normalized, NfcNormalize(plain));
      plain = normalized;
    }
    pieces.assign(1, plain);
    for (const auto& splitter : splitters_) {
      next.clear();
      for (std::string_view piece : pieces) AG_RETURN_IF_ERROR(splitter->Split(piece, &next));
      pieces.swap(next);
    }
    for (std::string_view piece : pieces) {
      if (!piece.empty()) model_->Tokenize(piece, &ids);
    }
  }
  return ids;
}

absl::StatusOr<std::string> BpeTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      out += it->second;
    } else if (const std::string* bytes = model_->IdToBytes(id)) {
      out += *bytes;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("Decode: unknown token id ", id));
    }
  }
  return out;
}

std::optional<int32_t> BpeTokenizer::TokenToId(std::string_view token) const {
  if (auto it = added_by_content_.find(AsAbsl(token)); it != added_by_content_.end()) return it->second;
  const int32_t id = model_->TokenToId(token);
  if (id < 0) return std::nullopt;
  return id;
}

bool BpeTokenizer::IsSpecial(int32_t id) const {
  return std::binary_search(special_ids_.begin(), special_ids_.end(), id);
}

}  // namespace agentgym::policy
