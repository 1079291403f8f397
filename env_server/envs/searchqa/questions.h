#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_QUESTIONS_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_QUESTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "env_server/envs/searchqa/knowledge_base.h"

namespace agentgym::env::searchqa {

// One retrieval step of a question's reasoning chain: the search an informed
// solver issues and the document that holds the fact it needs.
struct Lookup {
  std::string query;
  int doc = -1;
};

struct Question {
  std::string text;
  std::string answer;
  std::vector<Lookup> lookups;  // in reasoning order; size() == hops
};

struct QuestionSet {
  std::string type;         // "nq", "hotpotqa", ...
  std::string description;  // one line
  int max_hops = 1;
  std::vector<Question> train;
  std::vector<Question> test;
};

// Generates every task type's questions from `kb`, deterministically in
// `seed`. Questions are deduplicated by text before the split, so no question
// is in both train and test. Types come out in a fixed order: nq, triviaqa,
// popqa, hotpotqa, 2wiki, musique, bamboogle.
std::vector<QuestionSet> BuildQuestionSets(const KnowledgeBase& kb, uint64_t seed);

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_QUESTIONS_H_
