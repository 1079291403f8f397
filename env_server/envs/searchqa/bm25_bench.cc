// Raw BM25 cost on the shipped searchqa corpus, without the env or gRPC:
//   searchqa_bm25_bench [--benchmark_min_time=1]
// BM_OracleQuery: the informed solver's keyword queries (what search[...]
// costs an agent that searches well); BM_QuestionQuery: whole question texts
// (longer queries, more postings); BM_BuildWorld: knowledge base, index and
// question sets, as the server builds them once at start-up.

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "env_server/envs/searchqa/searchqa_env.h"

namespace agentgym::env::searchqa {
namespace {

const SearchQaWorld& World() {
  static const auto* env = SearchQaEnv::Create({})->release();
  return static_cast<const SearchQaEnv*>(env)->world();
}

std::vector<std::string> Queries(bool whole_questions) {
  std::vector<std::string> out;
  for (const QuestionSet& set : World().sets) {
    for (const Question& q : set.train) {
      if (whole_questions) {
        out.push_back(q.text);
      } else {
        for (const Lookup& l : q.lookups) out.push_back(l.query);
      }
    }
  }
  return out;
}

void RunQueries(benchmark::State& state, const std::vector<std::string>& queries) {
  const Bm25Index& index = World().kb->index();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.Search(queries[i], static_cast<int>(state.range(0))));
    i = (i + 1) % queries.size();
  }
  state.counters["docs"] = index.num_docs();
  state.counters["queries"] = static_cast<double>(queries.size());
}

void BM_OracleQuery(benchmark::State& state) {
  static const auto* queries = new std::vector<std::string>(Queries(false));
  RunQueries(state, *queries);
}
BENCHMARK(BM_OracleQuery)->Arg(3)->Arg(10)->Unit(benchmark::kMicrosecond);

void BM_QuestionQuery(benchmark::State& state) {
  static const auto* queries = new std::vector<std::string>(Queries(true));
  RunQueries(state, *queries);
}
BENCHMARK(BM_QuestionQuery)->Arg(3)->Unit(benchmark::kMicrosecond);

void BM_BuildWorld(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(SearchQaEnv::Create({}));
}
BENCHMARK(BM_BuildWorld)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace agentgym::env::searchqa

BENCHMARK_MAIN();
