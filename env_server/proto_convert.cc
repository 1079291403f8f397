#include "env_server/proto_convert.h"

namespace agentgym::env {
namespace {

void JsonToValue(const nlohmann::json& j, google::protobuf::Value* out) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      out->set_null_value(google::protobuf::NULL_VALUE);
      break;
    case nlohmann::json::value_t::boolean:
      out->set_bool_value(j.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      out->set_number_value(j.get<double>());
      break;
    case nlohmann::json::value_t::string:
      out->set_string_value(j.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array:
      for (const auto& item : j) JsonToValue(item, out->mutable_list_value()->add_values());
      break;
    case nlohmann::json::value_t::object:
      JsonToStruct(j, out->mutable_struct_value());
      break;
    case nlohmann::json::value_t::binary:
      out->set_string_value("<binary>");
      break;
  }
}

nlohmann::json ValueToJson(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kBoolValue: return v.bool_value();
    case google::protobuf::Value::kNumberValue: return v.number_value();
    case google::protobuf::Value::kStringValue: return v.string_value();
    case google::protobuf::Value::kStructValue: return StructToJson(v.struct_value());
    case google::protobuf::Value::kListValue: {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& item : v.list_value().values()) list.push_back(ValueToJson(item));
      return list;
    }
    default: return nullptr;
  }
}

}  // namespace

void JsonToStruct(const nlohmann::json& object, google::protobuf::Struct* out) {
  if (!object.is_object()) return;
  for (const auto& [key, value] : object.items()) {
    JsonToValue(value, &(*out->mutable_fields())[key]);
  }
}

nlohmann::json StructToJson(const google::protobuf::Struct& s) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : s.fields()) out[key] = ValueToJson(value);
  return out;
}

v1::Split ToProto(Split split) {
  return split == Split::kTest ? v1::SPLIT_TEST : v1::SPLIT_TRAIN;
}

Split FromProto(v1::Split split) {
  return split == v1::SPLIT_TEST ? Split::kTest : Split::kTrain;
}

void ToProto(const EnvDescription& d, v1::EnvInfo* out) {
  out->set_name(d.name);
  out->set_description(d.description);
  out->set_action_format(d.action_format);
  out->set_recommended_max_turns(d.recommended_max_turns);
  out->set_mirrors(d.mirrors);
  for (const auto& t : d.task_types) {
    v1::TaskType* type = out->add_task_types();
    type->set_name(t.name);
    type->set_description(t.description);
    type->set_train_count(t.train_count);
    type->set_test_count(t.test_count);
    type->set_recommended_max_turns(t.recommended_max_turns);
  }
}

void ToProto(const StepOutcome& outcome, int32_t turn, v1::StepResult* out) {
  out->set_observation(outcome.observation);
  out->set_reward(outcome.reward);
  out->set_done(outcome.done);
  out->set_truncated(outcome.truncated);
  out->set_success(outcome.success);
  out->set_score(outcome.score);
  out->set_action_valid(outcome.action_valid);
  out->set_turn(turn);
  if (!outcome.info.empty()) JsonToStruct(outcome.info, out->mutable_info());
}

}  // namespace agentgym::env
