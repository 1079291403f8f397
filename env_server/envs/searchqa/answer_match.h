#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_ANSWER_MATCH_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_ANSWER_MATCH_H_

#include <string>
#include <string_view>

namespace agentgym::env::searchqa {

// SQuAD's normalize_answer: lowercase, drop ASCII punctuation, drop the
// articles a/an/the, collapse whitespace.
std::string NormalizeAnswer(std::string_view text);

// Exact match after normalisation.
bool ExactMatch(std::string_view prediction, std::string_view gold);

// SQuAD token F1 over normalised tokens (multiset overlap); 0 when either side
// normalises to nothing.
double TokenF1(std::string_view prediction, std::string_view gold);

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_ANSWER_MATCH_H_
