#include "policy/model_dir.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "policy/checkpoint.h"
#include "policy/tokenizer/bpe_tokenizer.h"

namespace agentgym::policy {
namespace {

namespace fs = std::filesystem;

// What agentgym.json says (defaults when it is absent).
struct DirSettings {
  ChatFormatKind kind = ChatFormatKind::kChatML;
  std::string system_prompt;
  bool state_action_format = true;
};

absl::StatusOr<DirSettings> ReadSettings(const fs::path& dir) {
  DirSettings settings;
  const fs::path path = dir / kAgentgymJson;
  std::error_code ec;
  if (!fs::exists(path, ec)) return settings;
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not a JSON object"));
  }
  if (j.contains("chat_format")) {
    if (!j["chat_format"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), ": chat_format must be a string"));
    }
    absl::StatusOr<ChatFormatKind> kind = ParseChatFormatKind(j["chat_format"].get<std::string>());
    if (!kind.ok()) return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", kind.status().message()));
    settings.kind = *kind;
  }
  if (j.contains("system_prompt")) {
    if (!j["system_prompt"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), ": system_prompt must be a string"));
    }
    settings.system_prompt = j["system_prompt"].get<std::string>();
  }
  if (j.contains("state_action_format")) {
    if (!j["state_action_format"].is_boolean()) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), ": state_action_format must be true or false"));
    }
    settings.state_action_format = j["state_action_format"].get<bool>();
  }
  return settings;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const fs::path& dir) {
  std::error_code ec;
  const fs::path bpe = dir / "tokenizer.json";
  const fs::path word = dir / "word_tokenizer.json";
  absl::StatusOr<std::unique_ptr<Tokenizer>> out = absl::NotFoundError(
      absl::StrCat(dir.string(), " has neither tokenizer.json nor word_tokenizer.json"));
  if (fs::exists(bpe, ec)) {
    absl::StatusOr<std::unique_ptr<BpeTokenizer>> t = BpeTokenizer::FromFile(bpe.string());
    if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat(bpe.string(), ": ", t.status().message()));
    out = std::unique_ptr<Tokenizer>(std::move(*t));
  } else if (fs::exists(word, ec)) {
    absl::StatusOr<std::unique_ptr<WordTokenizer>> t = WordTokenizer::FromFile(word.string());
    if (!t.ok()) return absl::Status(t.status().code(), absl::StrCat(word.string(), ": ", t.status().message()));
    out = std::unique_ptr<Tokenizer>(std::move(*t));
  }
  return out;
}

}  // namespace

absl::StatusOr<ChatFormatKind> ParseChatFormatKind(const std::string& name) {
  if (name == "chatml") return ChatFormatKind::kChatML;
  if (name == "llama3") return ChatFormatKind::kLlama3;
  return absl::InvalidArgumentError(absl::StrCat("unknown chat_format \"", name, "\" (chatml, llama3)"));
}

const char* ChatFormatKindName(ChatFormatKind kind) {
  return kind == ChatFormatKind::kLlama3 ? "llama3" : "chatml";
}

absl::StatusOr<PolicyBundle> LoadPolicyBundle(const std::string& dir, torch::Device device,
                                              torch::ScalarType dtype) {
  std::error_code ec;
  const fs::path root(dir);
  if (dir.empty()) return absl::InvalidArgumentError("model directory is empty (set model.dir)");
  if (!fs::is_directory(root, ec)) return absl::NotFoundError(absl::StrCat("model directory ", dir, " does not exist"));
  if (!fs::exists(root / "config.json", ec)) {
    return absl::NotFoundError(absl::StrCat("model directory ", dir, " has no config.json"));
  }
  PolicyBundle bundle;
  AG_ASSIGN_OR_RETURN(DirSettings settings, ReadSettings(root));
  bundle.chat_kind = settings.kind;
  bundle.system_prompt = settings.system_prompt;
  bundle.state_action_format = settings.state_action_format;
  AG_ASSIGN_OR_RETURN(bundle.tokenizer, LoadTokenizer(root));
  absl::StatusOr<CausalLm> model = absl::InternalError("not loaded");
  try {
    model = LoadPretrained(dir, device, dtype);
  } catch (const std::exception& e) {  // LibTorch throws c10::Error (a std::exception).
    model = absl::InternalError(e.what());
  }
  if (!model.ok()) {
    return absl::Status(model.status().code(), absl::StrCat("loading model from ", dir, ": ", model.status().message()));
  }
  bundle.model = *model;
  bundle.config = bundle.model->config();
  if (bundle.tokenizer->VocabSize() > bundle.config.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer in ", dir, " has ", bundle.tokenizer->VocabSize(),
                                                   " ids but the model's vocab_size is ", bundle.config.vocab_size));
  }
  ChatFormat::Options chat_options;
  chat_options.kind = settings.kind;
  chat_options.default_system_prompt = settings.system_prompt;
  absl::StatusOr<std::unique_ptr<ChatFormat>> chat = ChatFormat::Create(bundle.tokenizer.get(), chat_options);
  if (!chat.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("chat format ", ChatFormatKindName(settings.kind), " for ", dir,
                                                   ": ", chat.status().message()));
  }
  bundle.chat = std::move(*chat);
  return bundle;
}

absl::Status WriteModelDir(const std::string& dir, CausalLm& model, const WordTokenizer& tok, ChatFormatKind kind,
                           const std::string& system_prompt, bool state_action_format) {
  if (!model) return absl::InvalidArgumentError("WriteModelDir needs a model");
  if (tok.VocabSize() > model->config().vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer has ", tok.VocabSize(),
                                                   " ids but the model's vocab_size is ", model->config().vocab_size));
  }
  ChatFormat::Options chat_options;
  chat_options.kind = kind;
  chat_options.default_system_prompt = system_prompt;
  absl::StatusOr<std::unique_ptr<ChatFormat>> chat = ChatFormat::Create(&tok, chat_options);
  if (!chat.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer does not fit chat format ", ChatFormatKindName(kind), ": ", chat.status().message()));
  }
  absl::Status saved;
  try {
    saved = SavePretrained(dir, model);
  } catch (const std::exception& e) {
    saved = absl::InternalError(e.what());
  }
  if (!saved.ok()) return absl::Status(saved.code(), absl::StrCat("writing ", dir, ": ", saved.message()));
  AG_RETURN_IF_ERROR(tok.Save((fs::path(dir) / "word_tokenizer.json").string()));
  nlohmann::json settings = {{"chat_format", ChatFormatKindName(kind)},
                             {"system_prompt", system_prompt},
                             {"state_action_format", state_action_format}};
  std::ofstream out(fs::path(dir) / kAgentgymJson, std::ios::trunc);
  out << settings.dump(2) << "\n";
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/", kAgentgymJson));
  return absl::OkStatus();
}

}  // namespace agentgym::policy
