#include "policy/tokenizer/bpe_model.h"

#include <queue>

#include "absl/strings/str_cat.h"
#include "policy/tokenizer/byte_level.h"
#include "policy/tokenizer/unicode_text.h"

namespace agentgym::policy {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
         static_cast<uint32_t>(right);
}

// One symbol of the word being merged; a doubly linked list over a vector.
struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // index of the left symbol
  int32_t left_id;
  int32_t right_id;
  // Lowest rank first, then leftmost, as in tokenizers' `Word::merge_all`.
  bool operator<(const Candidate& other) const {
    if (rank != other.rank) return rank > other.rank;
    return pos > other.pos;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(Options options) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->ignore_merges_ = options.ignore_merges;
  model->max_cached_piece_bytes_ = options.max_cached_piece_bytes;
  model->max_cache_entries_ = options.max_cache_entries;
  model->token_to_id_.reserve(options.vocab.size());
  int32_t max_id = -1;
  for (const auto& [token, id] : options.vocab) {
    if (id < 0) return absl::InvalidArgumentError(absl::StrCat("vocab: negative id for '", token, "'"));
    if (id > max_id) max_id = id;
  }
  if (max_id >= (1 << 24)) {
    return absl::InvalidArgumentError(absl::StrCat("vocab: id ", max_id, " is implausibly large"));
  }
  model->id_to_bytes_.resize(static_cast<size_t>(max_id + 1));
  model->has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (auto& [token, id] : options.vocab) {
    std::string bytes;
    if (!ByteLevelToBytes(token, &bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab: token '", token, "' (id ", id, ") is not byte-level text"));
    }
    if (model->has_id_[id]) {
      return absl::InvalidArgumentError(absl::StrCat("vocab: id ", id, " is used twice"));
    }
    model->has_id_[id] = true;
    model->id_to_bytes_[id] = std::move(bytes);
    if (!model->token_to_id_.emplace(std::move(token), id).second) {
      return absl::InvalidArgumentError(absl::StrCat("vocab: duplicate token (id ", id, ")"));
    }
  }
  const auto& alphabet = ByteLevelAlphabet();
  for (int b = 0; b < 256; ++b) {
    auto it = model->token_to_id_.find(alphabet[b]);
    if (it == model->token_to_id_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab: no token for byte 0x", absl::Hex(b), " (byte-level BPE needs all 256)"));
    }
    model->byte_ids_[b] = it->second;
  }
  model->merges_.reserve(options.merges.size());
  for (size_t rank = 0; rank < options.merges.size(); ++rank) {
    const auto& [left, right] = options.merges[rank];
    const int32_t left_id = model->TokenToId(left);
    const int32_t right_id = model->TokenToId(right);
    const int32_t merged_id = model->TokenToId(absl::StrCat(left, right));
    if (left_id < 0 || right_id < 0 || merged_id < 0) {
      return absl::InvalidArgumentError(absl::StrCat("merges[", rank, "] ('", left, "' '", right,
                                                     "') uses a token missing from the vocab"));
    }
    // A repeated pair keeps its first (lowest) rank, as in tokenizers.
    model->merges_.try_emplace(PairKey(left_id, right_id),
                               MergeTarget{static_cast<int32_t>(rank), merged_id});
  }
  return model;
}

int32_t BpeModel::TokenToId(std::string_view token) const {
  auto it = token_to_id_.find(AsAbsl(token));
  return it == token_to_id_.end() ? -1 : it->second;
}

const std::string* BpeModel::IdToBytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_bytes_.size() || !has_id_[id]) return nullptr;
  return &id_to_bytes_[id];
}

void BpeModel::Tokenize(std::string_view piece, std::vector<int32_t>* ids) const {
  const bool cacheable = piece.size() <= max_cached_piece_bytes_;
  if (cacheable) {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(AsAbsl(piece));
    if (it != cache_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> result;
  if (ignore_merges_) {
    std::string spelled;
    BytesToByteLevel(piece, &spelled);
    const int32_t whole = TokenToId(spelled);
    if (whole >= 0) result.push_back(whole);
  }
  if (result.empty()) MergePiece(piece, &result);
  ids->insert(ids->end(), result.begin(), result.end());
  if (cacheable) {
    absl::MutexLock lock(&cache_mu_);
    // A full cache is dropped wholesale: simpler than LRU and the working set
    // of a text distribution refills it quickly.
    if (cache_.size() >= max_cache_entries_) cache_.clear();
    cache_.emplace(std::string(piece), std::move(result));
  }
}

void BpeModel::MergePiece(std::string_view piece, std::vector<int32_t>* out) const {
  const int32_t n = static_cast<int32_t>(piece.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = Symbol{byte_ids_[static_cast<unsigned char>(piece[i])], i - 1,
                        i + 1 < n ? i + 1 : -1, true};
  }
  std::priority_queue<Candidate> queue;
  auto push_pair = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    auto it = merges_.find(PairKey(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, symbols[pos].id, symbols[next].id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    // Stale entries: either side has been merged into something else since.
    if (!left.alive || left.next < 0 || left.id != top.left_id) continue;
    Symbol& right = symbols[left.next];
    if (right.id != top.right_id) continue;
    left.id = merges_.find(PairKey(top.left_id, top.right_id))->second.id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0 && i < n; i = symbols[i].next) out->push_back(symbols[i].id);
}

}  // namespace agentgym::policy
