#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_BM25_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_BM25_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace agentgym::env::searchqa {

struct Bm25Options {
  double k1 = 0.9;  // Pyserini's defaults for passage retrieval
  double b = 0.4;
  // Drop a short list of English function words, as Lucene's English analyzer
  // does, so queries phrased as questions rank on their content words.
  bool remove_stopwords = true;
};

// Lowercases ASCII, splits on anything that is not a letter or digit (bytes
// >= 0x80 count as letters so UTF-8 words stay whole) and drops stopwords when
// asked. Shared by indexing and querying so both see the same terms.
std::vector<std::string> Tokenize(std::string_view text, bool remove_stopwords);

struct Bm25Hit {
  int32_t doc = 0;  // index in the order documents were added
  double score = 0.0;
};

// An in-memory Okapi BM25 index over a fixed set of documents.
//
// Built once (Add... then Finalize), then only read: Search is const and safe
// to call from many threads at once. Scores use the Lucene/Pyserini IDF,
// log(1 + (N - df + 0.5) / (df + 0.5)), so every matching term adds a
// positive amount. Ties break towards the lower document index, so results
// are deterministic.
class Bm25Index {
 public:
  explicit Bm25Index(Bm25Options options = {});

  // Adds one document; returns its index. Must be called before Finalize.
  int32_t AddDocument(std::string_view text);
  void Finalize();

  // The top `k` documents for `query` by BM25 score (only documents sharing a
  // term with the query; fewer than k when fewer match).
  std::vector<Bm25Hit> Search(std::string_view query, int k) const;

  int32_t num_docs() const { return static_cast<int32_t>(doc_lengths_.size()); }
  size_t ApproxBytes() const;

 private:
  struct Posting {
    int32_t doc;
    int32_t tf;
  };
  Bm25Options options_;
  absl::flat_hash_map<std::string, int32_t> term_ids_;
  std::vector<std::vector<Posting>> postings_;  // by term id
  std::vector<double> idf_;                     // by term id, set by Finalize
  std::vector<int32_t> doc_lengths_;
  std::vector<double> length_norm_;  // k1 * (1 - b + b * len / avg), by doc
  bool finalized_ = false;
};

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_BM25_H_
