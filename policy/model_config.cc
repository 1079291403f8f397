#include "policy/model_config.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace agentgym::policy {
namespace {

using nlohmann::json;

// Reads an integer-valued key; a list (HF allows several eos ids) yields its first entry.
absl::Status ReadInt(const json& j, const char* key, bool required, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("config.json: missing \"", key, "\""));
    return absl::OkStatus();
  }
  const json* v = &*it;
  if (v->is_array() && !v->empty()) v = &(*v)[0];
  if (!v->is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: \"", key, "\" is not an integer"));
  }
  *out = v->get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadDouble(const json& j, const char* key, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: \"", key, "\" is not a number"));
  }
  *out = it->get<double>();
  return absl::OkStatus();
}

absl::Status ReadBool(const json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: \"", key, "\" is not a bool"));
  }
  *out = it->get<bool>();
  return absl::OkStatus();
}

}  // namespace

int64_t ModelConfig::NumParameters() const {
  const int64_t hd = HeadDim();
  const int64_t q = num_attention_heads * hd, kv = num_key_value_heads * hd;
  int64_t attn = hidden_size * q + 2 * hidden_size * kv + q * hidden_size;
  if (attention_bias) attn += q + 2 * kv;
  if (OProjBias()) attn += hidden_size;
  int64_t mlp = 3 * hidden_size * intermediate_size;
  if (mlp_bias) mlp += 2 * intermediate_size + hidden_size;
  const int64_t layer = attn + mlp + 2 * hidden_size;
  int64_t total = vocab_size * hidden_size + num_hidden_layers * layer + hidden_size;
  if (!tie_word_embeddings) total += vocab_size * hidden_size;
  if (value_head) total += hidden_size + 1;
  return total;
}

absl::Status ModelConfig::Validate() const {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("model config: ", what));
  };
  // Upper bounds far above any real model, so a corrupt config.json fails
  // here instead of allocating for hours (or overflowing the counts below).
  constexpr int64_t kMaxDim = 1 << 20, kMaxVocab = 1 << 24, kMaxLayers = 1024, kMaxHeads = 4096;
  if (vocab_size > kMaxVocab) return bad("vocab_size is implausibly large");
  if (hidden_size > kMaxDim || intermediate_size > kMaxDim || head_dim > kMaxDim) {
    return bad("hidden_size, intermediate_size and head_dim must be <= 2^20");
  }
  if (num_hidden_layers > kMaxLayers) return bad("num_hidden_layers must be <= 1024");
  if (num_attention_heads > kMaxHeads) return bad("num_attention_heads must be <= 4096");
  if (vocab_size <= 0) return bad("vocab_size must be > 0");
  if (hidden_size <= 0) return bad("hidden_size must be > 0");
  if (intermediate_size <= 0) return bad("intermediate_size must be > 0");
  if (num_hidden_layers <= 0) return bad("num_hidden_layers must be > 0");
  if (num_attention_heads <= 0) return bad("num_attention_heads must be > 0");
  if (num_key_value_heads <= 0 || num_attention_heads % num_key_value_heads != 0) {
    return bad("num_key_value_heads must divide num_attention_heads");
  }
  if (head_dim <= 0 && hidden_size % num_attention_heads != 0) {
    return bad("hidden_size must be a multiple of num_attention_heads");
  }
  if (HeadDim() % 2 != 0) return bad("head_dim must be even for rotary embeddings");
  if (rope_theta <= 0) return bad("rope_theta must be > 0");
  if (model_type != "qwen2" && model_type != "llama") return bad("model_type must be qwen2 or llama");
  if (model_type == "qwen2" && (!attention_bias || mlp_bias)) {
    return bad("qwen2 has q/k/v bias and no MLP bias (attention_bias true, mlp_bias false)");
  }
  if (max_position_embeddings <= 0) return bad("max_position_embeddings must be > 0");
  if (!(rms_norm_eps > 0)) return bad("rms_norm_eps must be > 0");
  if (static_cast<double>(num_attention_heads) * HeadDim() > kMaxDim) {
    return bad("num_attention_heads * head_dim must be <= 2^20");
  }
  if (static_cast<double>(num_hidden_layers) * hidden_size * intermediate_size > 1e12) {
    return bad("model has more than 10^12 parameters");
  }
  if (rope_scaling.has_value()) {
    const auto& s = *rope_scaling;
    if (s.factor <= 0 || s.low_freq_factor <= 0 || s.high_freq_factor <= s.low_freq_factor ||
        s.original_max_position_embeddings <= 0) {
      return bad("llama3 rope_scaling needs factor > 0 and high_freq_factor > low_freq_factor > 0");
    }
  }
  return absl::OkStatus();
}

std::string ModelConfig::ToJson() const {
  json j;
  j["model_type"] = model_type;
  j["architectures"] = {model_type == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"};
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  if (head_dim > 0) j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rope_theta"] = rope_theta;
  j["rms_norm_eps"] = rms_norm_eps;
  j["attention_bias"] = attention_bias;
  if (model_type == "llama") j["mlp_bias"] = mlp_bias;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["hidden_act"] = "silu";
  if (rope_scaling.has_value()) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", rope_scaling->factor},
                         {"low_freq_factor", rope_scaling->low_freq_factor},
                         {"high_freq_factor", rope_scaling->high_freq_factor},
                         {"original_max_position_embeddings",
                          rope_scaling->original_max_position_embeddings}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  if (value_head) j["agentgym_value_head"] = true;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  return j.dump(2);
}

absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text) {
  json j = json::parse(json_text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("config.json: not a JSON object");
  }
  ModelConfig c;
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
    c.model_type = it->get<std::string>();
  }
  if (c.model_type != "qwen2" && c.model_type != "llama") {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: unsupported model_type \"", c.model_type, "\""));
  }
  // Qwen2 always has q/k/v bias; Llama reads attention_bias (default false).
  c.attention_bias = c.model_type == "qwen2";
  if (absl::Status s = ReadInt(j, "vocab_size", true, &c.vocab_size); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "hidden_size", true, &c.hidden_size); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "intermediate_size", true, &c.intermediate_size); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "num_hidden_layers", true, &c.num_hidden_layers); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "num_attention_heads", true, &c.num_attention_heads); !s.ok()) return s;
  c.num_key_value_heads = c.num_attention_heads;
  if (absl::Status s = ReadInt(j, "num_key_value_heads", false, &c.num_key_value_heads); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "head_dim", false, &c.head_dim); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "max_position_embeddings", false, &c.max_position_embeddings); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "bos_token_id", false, &c.bos_token_id); !s.ok()) return s;
  if (absl::Status s = ReadInt(j, "eos_token_id", false, &c.eos_token_id); !s.ok()) return s;
  if (absl::Status s = ReadDouble(j, "rope_theta", &c.rope_theta); !s.ok()) return s;
  if (absl::Status s = ReadDouble(j, "rms_norm_eps", &c.rms_norm_eps); !s.ok()) return s;
  if (absl::Status s = ReadBool(j, "tie_word_embeddings", &c.tie_word_embeddings); !s.ok()) return s;
  if (c.model_type == "llama") {
    if (absl::Status s = ReadBool(j, "attention_bias", &c.attention_bias); !s.ok()) return s;
    if (absl::Status s = ReadBool(j, "mlp_bias", &c.mlp_bias); !s.ok()) return s;
  } else {
    // Qwen2 with sliding-window attention needs a windowed mask we do not build.
    bool sliding = false;
    if (absl::Status s = ReadBool(j, "use_sliding_window", &sliding); !s.ok()) return s;
    if (sliding) {
      return absl::InvalidArgumentError("config.json: use_sliding_window true is not supported");
    }
  }
  if (absl::Status s = ReadBool(j, "agentgym_value_head", &c.value_head); !s.ok()) return s;
  if (auto it = j.find("hidden_act"); it != j.end() && it->is_string() && *it != "silu") {
    return absl::InvalidArgumentError("config.json: only hidden_act \"silu\" is supported");
  }
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("config.json: rope_scaling is not an object");
    std::string type;
    if (auto t = it->find("rope_type"); t != it->end() && t->is_string()) type = *t;
    else if (auto t2 = it->find("type"); t2 != it->end() && t2->is_string()) type = *t2;
    if (type == "llama3") {
      Llama3RopeScaling s;
      if (absl::Status st = ReadDouble(*it, "factor", &s.factor); !st.ok()) return st;
      if (absl::Status st = ReadDouble(*it, "low_freq_factor", &s.low_freq_factor); !st.ok()) return st;
      if (absl::Status st = ReadDouble(*it, "high_freq_factor", &s.high_freq_factor); !st.ok()) return st;
      if (absl::Status st = ReadInt(*it, "original_max_position_embeddings", false,
                                    &s.original_max_position_embeddings); !st.ok()) return st;
      c.rope_scaling = s;
    } else if (type != "default") {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json: unsupported rope_scaling type \"", type, "\""));
    }
  }
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read model config ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<ModelConfig> c = ParseModelConfig(ss.str());
  if (!c.ok()) return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

ModelConfig TinyConfig(int64_t vocab_size) {
  ModelConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = 128;
  c.intermediate_size = 384;
  c.num_hidden_layers = 6;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 4096;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = true;
  return c;
}

namespace {
ModelConfig Qwen25Base() {
  ModelConfig c;
  c.vocab_size = 151936;
  c.max_position_embeddings = 32768;
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6;
  c.bos_token_id = 151643;
  c.eos_token_id = 151643;
  return c;
}
}  // namespace

ModelConfig Qwen25Config0_5B() {
  ModelConfig c = Qwen25Base();
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.tie_word_embeddings = true;
  return c;
}

ModelConfig Qwen25Config1_5B() {
  ModelConfig c = Qwen25Base();
  c.hidden_size = 1536;
  c.intermediate_size = 8960;
  c.num_hidden_layers = 28;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 2;
  c.tie_word_embeddings = true;
  return c;
}

ModelConfig Qwen25Config7B() {
  ModelConfig c = Qwen25Base();
  c.vocab_size = 152064;
  c.hidden_size = 3584;
  c.intermediate_size = 18944;
  c.num_hidden_layers = 28;
  c.num_attention_heads = 28;
  c.num_key_value_heads = 4;
  c.max_position_embeddings = 131072;
  c.tie_word_embeddings = false;
  return c;
}

absl::StatusOr<ModelConfig> PresetConfig(const std::string& name) {
  if (name == "tiny") return TinyConfig();
  if (name == "qwen2.5-0.5b") return Qwen25Config0_5B();
  if (name == "qwen2.5-1.5b") return Qwen25Config1_5B();
  if (name == "qwen2.5-7b") return Qwen25Config7B();
  return absl::NotFoundError(absl::StrCat("unknown model preset \"", name,
                                          "\" (tiny, qwen2.5-0.5b, qwen2.5-1.5b, qwen2.5-7b)"));
}

}  // namespace agentgym::policy
