#include "policy/kv_cache.h"

#include <algorithm>

namespace agentgym::policy {

void SequenceKv::Reserve(int64_t needed, int64_t max_len, const ModelConfig& c, const torch::TensorOptions& options) {
  if (needed <= capacity) return;
  const int64_t cap = std::min(std::max(needed, std::max<int64_t>(2 * capacity, 16)), std::max(needed, max_len));
  const int64_t layers = c.num_hidden_layers;
  k.resize(layers);
  v.resize(layers);
  for (int64_t l = 0; l < layers; ++l) {
    torch::Tensor nk = torch::empty({c.num_key_value_heads, cap, c.HeadDim()}, options);
    torch::Tensor nv = torch::empty_like(nk);
    if (length > 0) {
      nk.narrow(1, 0, length).copy_(k[l].narrow(1, 0, length));
      nv.narrow(1, 0, length).copy_(v[l].narrow(1, 0, length));
    }
    k[l] = nk;
    v[l] = nv;
  }
  capacity = cap;
}

std::vector<LayerKv> SequenceKv::AsBatchOfOne() const {
  std::vector<LayerKv> out(k.size());
  for (size_t l = 0; l < k.size(); ++l) out[l] = {k[l].unsqueeze(0), v[l].unsqueeze(0)};
  return out;
}

DecodeBatch::DecodeBatch(std::vector<SequenceKv*> rows, const ModelConfig& c, const torch::TensorOptions& options,
                         int64_t max_len)
    : rows_(std::move(rows)),
      config_(c),
      layers_(c.num_hidden_layers),
      kv_heads_(c.num_key_value_heads),
      head_dim_(c.HeadDim()),
      options_(options),
      max_len_(max_len) {
  const int64_t b = size();
  for (const SequenceKv* r : rows_) {
    prefix_.push_back(r->length);
    shared_start_ = std::max(shared_start_, r->length);
  }
  length_ = shared_start_;
  // Room for a few dozen decode steps before the first regrowth.
  capacity_ = std::min(shared_start_ + 64, std::max(max_len_, shared_start_ + 1));
  // Zeros, not empty: masked scores still multiply the hole columns, and
  // uninitialised memory may hold NaN/Inf, which masking cannot undo.
  buffers_.resize(layers_);
  for (int64_t l = 0; l < layers_; ++l) {
    buffers_[l].k = torch::zeros({b, kv_heads_, capacity_, head_dim_}, options_);
    buffers_[l].v = torch::zeros_like(buffers_[l].k);
    for (int64_t r = 0; r < b; ++r) {
      if (prefix_[r] == 0) continue;
      buffers_[l].k[r].narrow(1, 0, prefix_[r]).copy_(rows_[r]->k[l].narrow(1, 0, prefix_[r]));
      buffers_[l].v[r].narrow(1, 0, prefix_[r]).copy_(rows_[r]->v[l].narrow(1, 0, prefix_[r]));
    }
  }
  torch::Tensor valid = torch::zeros({b, capacity_}, torch::kBool);
  auto a = valid.accessor<bool, 2>();
  for (int64_t r = 0; r < b; ++r) {
    for (int64_t j = 0; j < prefix_[r]; ++j) a[r][j] = true;
  }
  valid_ = valid.to(options_.device());
}

torch::Tensor DecodeBatch::PrepareStep() {
  if (length_ + 1 > capacity_) {
    const int64_t cap = std::max(length_ + 1, std::min(2 * capacity_, max_len_));
    for (LayerKv& kv : buffers_) {
      torch::Tensor nk = torch::zeros({size(), kv_heads_, cap, head_dim_}, options_);
      torch::Tensor nv = torch::zeros_like(nk);
      nk.narrow(2, 0, length_).copy_(kv.k.narrow(2, 0, length_));
      nv.narrow(2, 0, length_).copy_(kv.v.narrow(2, 0, length_));
      kv = {nk, nv};
    }
    torch::Tensor valid = torch::zeros({size(), cap}, valid_.options());
    valid.narrow(1, 0, length_).copy_(valid_.narrow(1, 0, length_));
    valid_ = valid;
    capacity_ = cap;
  }
  valid_.select(1, length_).fill_(true);
  return valid_.narrow(1, 0, length_ + 1).unsqueeze(1);
}

void DecodeBatch::WriteBack() {
  const int64_t decoded = length_ - shared_start_;
  const int64_t n = decoded - written_back_;
  if (n <= 0) return;
  const int64_t from = shared_start_ + written_back_;
  for (int64_t r = 0; r < size(); ++r) {
    SequenceKv& kv = *rows_[r];
    // Row r's own storage is valid up to prefix + written_back_ columns.
    kv.Reserve(kv.length + n, max_len_, config_, options_);
    for (int64_t l = 0; l < layers_; ++l) {
      kv.k[l].narrow(1, kv.length, n).copy_(buffers_[l].k[r].narrow(1, from, n));
      kv.v[l].narrow(1, kv.length, n).copy_(buffers_[l].v[r].narrow(1, from, n));
    }
    kv.length += n;
  }
  written_back_ = decoded;
}

}  // namespace agentgym::policy
