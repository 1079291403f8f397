#include "env_server/envs/searchqa/bm25.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"

namespace agentgym::env::searchqa {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

const absl::flat_hash_set<std::string_view>& Stopwords() {
  // Lucene's EnglishAnalyzer list plus question words, which carry no content.
  static const auto* kWords = new absl::flat_hash_set<std::string_view>{
      "a",    "an",   "and",   "are",  "as",    "at",   "be",    "but",   "by",   "for",
      "if",   "in",   "into",  "is",   "it",    "no",   "not",   "of",    "on",   "or",
      "such", "that", "the",   "their", "then", "there", "these", "they", "this", "to",
      "was",  "will", "with",  "what", "which", "who",  "whom",  "when",  "where", "how",
      "did",  "does", "do",    "s",    "were",  "has",  "had",   "its"};
  return *kWords;
}

}  // namespace

std::vector<std::string> Tokenize(std::string_view text, bool remove_stopwords) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) continue;
    std::string token(text.substr(start, i - start));
    for (char& c : token) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (remove_stopwords && Stopwords().contains(token)) continue;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

Bm25Index::Bm25Index(Bm25Options options) : options_(options) {}

int32_t Bm25Index::AddDocument(std::string_view text) {
  const int32_t doc = static_cast<int32_t>(doc_lengths_.size());
  std::vector<std::string> tokens = Tokenize(text, options_.remove_stopwords);
  absl::flat_hash_map<int32_t, int32_t> tf;
  for (std::string& token : tokens) {
    auto [it, inserted] = term_ids_.try_emplace(std::move(token), 0);
    if (inserted) {
      it->second = static_cast<int32_t>(postings_.size());
      postings_.emplace_back();
    }
    ++tf[it->second];
  }
  // Postings stay sorted by doc because documents are added in order.
  for (const auto& [term, count] : tf) postings_[term].push_back({doc, count});
  doc_lengths_.push_back(static_cast<int32_t>(tokens.size()));
  return doc;
}

void Bm25Index::Finalize() {
  const double n = static_cast<double>(doc_lengths_.size());
  idf_.resize(postings_.size());
  for (size_t t = 0; t < postings_.size(); ++t) {
    const double df = static_cast<double>(postings_[t].size());
    idf_[t] = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
  }
  double total = 0;
  for (int32_t len : doc_lengths_) total += len;
  const double avg = n > 0 ? std::max(1.0, total / n) : 1.0;
  length_norm_.resize(doc_lengths_.size());
  for (size_t d = 0; d < doc_lengths_.size(); ++d) {
    length_norm_[d] = options_.k1 * (1.0 - options_.b + options_.b * doc_lengths_[d] / avg);
  }
  finalized_ = true;
}

std::vector<Bm25Hit> Bm25Index::Search(std::string_view query, int k) const {
  std::vector<Bm25Hit> hits;
  if (!finalized_ || k <= 0) return hits;
  std::vector<std::string> terms = Tokenize(query, options_.remove_stopwords);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  // Accumulate into a sparse map: queries touch few postings lists, and a map
  // keeps the cost proportional to them rather than to the corpus.
  absl::flat_hash_map<int32_t, double> scores;
  for (const std::string& term : terms) {
    auto it = term_ids_.find(term);
    if (it == term_ids_.end()) continue;
    const double idf = idf_[it->second];
    for (const Posting& p : postings_[it->second]) {
      const double tf = p.tf;
      scores[p.doc] += idf * tf * (options_.k1 + 1.0) / (tf + length_norm_[p.doc]);
    }
  }
  hits.reserve(scores.size());
  for (const auto& [doc, score] : scores) hits.push_back({doc, score});
  auto better = [](const Bm25Hit& a, const Bm25Hit& b) {
    return a.score != b.score ? a.score > b.score : a.doc < b.doc;
  };
  const size_t top = std::min(hits.size(), static_cast<size_t>(k));
  std::partial_sort(hits.begin(), hits.begin() + top, hits.end(), better);
  hits.resize(top);
  return hits;
}

size_t Bm25Index::ApproxBytes() const {
  size_t bytes = doc_lengths_.capacity() * sizeof(int32_t) +
                 length_norm_.capacity() * sizeof(double) + idf_.capacity() * sizeof(double);
  for (const auto& [term, id] : term_ids_) bytes += term.capacity() + sizeof(int32_t) + 16;
  for (const auto& list : postings_) bytes += list.capacity() * sizeof(Posting) + sizeof(list);
  return bytes;
}

}  // namespace agentgym::env::searchqa
