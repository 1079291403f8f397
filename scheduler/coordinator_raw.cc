// CoordinatorService: the raw (ByteBuffer) handlers gRPC calls for every
// unary RPC. They parse the request themselves, so bytes that are not a valid
// message get INVALID_ARGUMENT naming the message (as the env server answers
// them), where gRPC's own parsing answers INTERNAL with no message. The
// handler bodies hold the service's mutex only briefly and never wait on
// the network, so they run inline on gRPC's callback threads.

#include "absl/strings/str_cat.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "scheduler/coordinator_service.h"

namespace agentgym::scheduler {
namespace {

template <typename Req, typename Resp>
using Method = grpc::Status (CoordinatorService::*)(grpc::ServerContextBase*, const Req*, Resp*);

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                CoordinatorService* service, Method<Req, Resp> method) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Req req;
  grpc::ByteBuffer in(*request);  // shares the slices; parsing consumes it
  if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, Req>(&in, &req).ok()) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("the request is not a valid ", Req::descriptor()->full_name(),
                     " message (truncated or corrupt bytes, or a string field that is not "
                     "UTF-8)")));
    return reactor;
  }
  Resp resp;
  grpc::Status status = (service->*method)(context, &req, &resp);
  if (status.ok()) {
    bool own_buffer = false;
    status = grpc::GenericSerialize<grpc::ProtoBufferWriter, Resp>(resp, response, &own_buffer);
  }
  reactor->Finish(status);
  return reactor;
}

}  // namespace

#define AG_RAW_HANDLER(Name, Req, Resp)                                                     \
  grpc::ServerUnaryReactor* CoordinatorService::Name(                                       \
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,                \
      grpc::ByteBuffer* response) {                                                         \
    return Serve<Req, Resp>(context, request, response, this, &CoordinatorService::Name);   \
  }

AG_RAW_HANDLER(Register, pb::RegisterRequest, pb::RegisterResponse)
AG_RAW_HANDLER(Heartbeat, pb::HeartbeatRequest, pb::HeartbeatResponse)
AG_RAW_HANDLER(Deregister, pb::DeregisterRequest, pb::DeregisterResponse)
AG_RAW_HANDLER(GetTasks, pb::GetTasksRequest, pb::GetTasksResponse)
AG_RAW_HANDLER(ReportProgress, pb::ReportProgressRequest, pb::ReportProgressResponse)
AG_RAW_HANDLER(GetStatus, pb::GetStatusRequest, pb::RunStatus)
AG_RAW_HANDLER(SetHorizon, pb::SetHorizonRequest, pb::SetHorizonResponse)
AG_RAW_HANDLER(Pause, pb::PauseRequest, pb::PauseResponse)
AG_RAW_HANDLER(Resume, pb::ResumeRequest, pb::ResumeResponse)
AG_RAW_HANDLER(GetCurriculumState, pb::GetCurriculumStateRequest, pb::CurriculumState)
AG_RAW_HANDLER(RestoreCurriculumState, pb::RestoreCurriculumStateRequest,
               pb::RestoreCurriculumStateResponse)

#undef AG_RAW_HANDLER

}  // namespace agentgym::scheduler
