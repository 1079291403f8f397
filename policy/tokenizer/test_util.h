#ifndef AGENTGYM_POLICY_TOKENIZER_TEST_UTIL_H_
#define AGENTGYM_POLICY_TOKENIZER_TEST_UTIL_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "policy/tokenizer/byte_level.h"

namespace agentgym::policy::testing {

// A tiny but complete byte-level BPE tokenizer.json: the 256 byte tokens
// (id = byte value), merges h+e, l+l, he+ll, he+llo's parts, Ġ+w, and two
// added tokens. `array_merges` picks the ["a","b"] merge format over "a b".
inline nlohmann::json TinyTokenizerJson(bool array_merges = false) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& alphabet = ByteLevelAlphabet();
  for (int b = 0; b < 256; ++b) vocab[alphabet[b]] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "w"}, {"o", "r"}, {"Ġw", "or"}};
  int next_id = 256;
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = next_id++;
    if (array_merges) {
      merge_list.push_back({a, b});
    } else {
      merge_list.push_back(a + " " + b);
    }
  }
  nlohmann::json json;
  json["version"] = "1.0";
  json["added_tokens"] = {
      {{"id", 300}, {"content", "<|im_start|>"}, {"special", true}, {"lstrip", false},
       {"rstrip", false}, {"single_word", false}, {"normalized", false}},
      {{"id", 301}, {"content", "<tool>"}, {"special", false}, {"lstrip", false},
       {"rstrip", false}, {"single_word", false}, {"normalized", false}}};
  json["normalizer"] = {{"type", "NFC"}};
  json["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern", {{"Regex", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
  json["post_processor"] = nullptr;
  json["decoder"] = {{"type", "ByteLevel"}};
  json["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                   {"byte_fallback", false}, {"ignore_merges", false},
                   {"vocab", vocab}, {"merges", merge_list}};
  return json;
}

}  // namespace agentgym::policy::testing

#endif  // AGENTGYM_POLICY_TOKENIZER_TEST_UTIL_H_
