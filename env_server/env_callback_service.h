#ifndef AGENTGYM_ENV_SERVER_ENV_CALLBACK_SERVICE_H_
#define AGENTGYM_ENV_SERVER_ENV_CALLBACK_SERVICE_H_

#include "agentgym/env/v1/env.grpc.pb.h"
#include "env_server/env_service.h"
#include "grpcpp/support/byte_buffer.h"

namespace agentgym::env {

// Every Env method on gRPC's callback API, with raw (ByteBuffer) messages.
using EnvRawCallbackBase = v1::Env::WithRawCallbackMethod_ListEnvs<v1::Env::WithRawCallbackMethod_ListTasks<v1::Env::WithRawCallbackMethod_Create<v1::Env::WithRawCallbackMethod_Step<v1::Env::WithRawCallbackMethod_Reset<v1::Env::WithRawCallbackMethod_Close<v1::Env::WithRawCallbackMethod_BatchCreate<v1::Env::WithRawCallbackMethod_BatchStep<v1::Env::WithRawCallbackMethod_BatchClose<v1::Env::Service>>>>>>>>>;

// The Env contract on gRPC's callback API: each RPC runs inline on the gRPC
// thread that received it and finishes at once, with no hand-off to a
// synchronous-server worker thread. For envs whose steps take microseconds
// (every built-in env) this cuts the context switches per call and raised
// unary steps/s by about half on 2 cores (docs/benchmarks.md). Envs whose
// steps block (the HTTP bridge waits on an upstream server) must use the
// synchronous EnvService instead, or they would stall gRPC's threads.
//
// Requests arrive as bytes and are parsed here, so a request that is not a
// valid message (e.g. a string field that is not UTF-8) is answered
// INVALID_ARGUMENT with a message; gRPC's own callback handler would answer
// an empty UNIMPLEMENTED, and its synchronous one INTERNAL.
//
// Thread-safe; delegates to `service`, which must outlive it (not owned).
class EnvCallbackService final : public EnvRawCallbackBase {
 public:
  explicit EnvCallbackService(EnvService* service) : service_(service) {}

  grpc::ServerUnaryReactor* ListEnvs(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListTasks(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Step(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Close(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchCreate(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchStep(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchClose(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;

 private:
  EnvService* const service_;
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_ENV_CALLBACK_SERVICE_H_
