#ifndef AGENTGYM_ENV_SERVER_PROTO_CONVERT_H_
#define AGENTGYM_ENV_SERVER_PROTO_CONVERT_H_

// Conversions between the env API's C++ types and the Env contract's messages.

#include "agentgym/env/v1/env.pb.h"
#include "env_server/environment.h"
#include "google/protobuf/struct.pb.h"
#include "nlohmann/json.hpp"

namespace agentgym::env {

void JsonToStruct(const nlohmann::json& object, google::protobuf::Struct* out);
nlohmann::json StructToJson(const google::protobuf::Struct& s);

void ToProto(const EnvDescription& d, v1::EnvInfo* out);
void ToProto(const StepOutcome& outcome, int32_t turn, v1::StepResult* out);

v1::Split ToProto(Split split);
// SPLIT_UNSPECIFIED means train.
Split FromProto(v1::Split split);

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_PROTO_CONVERT_H_
