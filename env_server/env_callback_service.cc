#include "env_server/env_callback_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/alarm.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"

namespace agentgym::env {
namespace {

template <typename Req, typename Resp>
using SyncMethod = grpc::Status (EnvService::*)(grpc::ServerContext*, const Req*, Resp*);

// Finishes `reactor` with `status` after `delay` (an injected fault) without
// holding the gRPC thread: a callback alarm finishes it later, so delayed
// replies overlap instead of queueing behind each other. The alarm deletes
// itself from its callback (gRPC keeps its state alive until the callback
// returns).
void FinishAfter(grpc::ServerUnaryReactor* reactor, grpc::Status status, absl::Duration delay) {
  if (delay <= absl::ZeroDuration()) {
    reactor->Finish(status);
    return;
  }
  auto* alarm = new grpc::Alarm();
  alarm->Set(absl::ToChronoTime(absl::Now() + delay),
             [alarm, reactor, status = std::move(status)](bool) {
               reactor->Finish(status);
               delete alarm;
             });
}

// Parses the request, runs the synchronous method body (EnvService's gRPC
// overrides touch their ServerContext only to delay a synchronous reply, and
// get none here) and serializes the response. Replies to session calls
// (`session_call`) are held for the injected delay, if any.
template <typename Req, typename Resp>
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                EnvService* service, SyncMethod<Req, Resp> method,
                                bool session_call = true) {
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
  grpc::Status status = (service->*method)(/*context=*/nullptr, &req, &resp);
  if (status.ok()) {
    bool own_buffer = false;
    status = grpc::GenericSerialize<grpc::ProtoBufferWriter, Resp>(resp, response, &own_buffer);
  }
  FaultInjector* faults = service->faults();
  FinishAfter(reactor, std::move(status),
              session_call && faults != nullptr ? faults->ReplyDelay() : absl::ZeroDuration());
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* EnvCallbackService::ListEnvs(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::ListEnvsRequest, v1::ListEnvsResponse>(context, request, response, service_,
                                                   &EnvService::ListEnvs, /*session_call=*/false);
}

grpc::ServerUnaryReactor* EnvCallbackService::ListTasks(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::ListTasksRequest, v1::ListTasksResponse>(context, request, response, service_,
                                                   &EnvService::ListTasks, /*session_call=*/false);
}

grpc::ServerUnaryReactor* EnvCallbackService::Create(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::CreateRequest, v1::CreateResponse>(context, request, response, service_,
                                                   &EnvService::Create);
}

grpc::ServerUnaryReactor* EnvCallbackService::Step(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::StepRequest, v1::StepResponse>(context, request, response, service_,
                                                   &EnvService::Step);
}

grpc::ServerUnaryReactor* EnvCallbackService::Reset(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::ResetRequest, v1::ResetResponse>(context, request, response, service_,
                                                   &EnvService::Reset);
}

grpc::ServerUnaryReactor* EnvCallbackService::Close(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::CloseRequest, v1::CloseResponse>(context, request, response, service_,
                                                   &EnvService::Close);
}

grpc::ServerUnaryReactor* EnvCallbackService::BatchCreate(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::BatchCreateRequest, v1::BatchCreateResponse>(context, request, response, service_,
                                                   &EnvService::BatchCreate);
}

grpc::ServerUnaryReactor* EnvCallbackService::BatchStep(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::BatchStepRequest, v1::BatchStepResponse>(context, request, response, service_,
                                                   &EnvService::BatchStep);
}

grpc::ServerUnaryReactor* EnvCallbackService::BatchClose(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::BatchCloseRequest, v1::BatchCloseResponse>(context, request, response, service_,
                                                   &EnvService::BatchClose);
}

}  // namespace agentgym::env
