"""The standard gRPC health protocol (grpc.health.v1.Health), implemented on
stubs generated from proto/third_party/grpc/health/v1/health.proto because
Debian ships no grpcio-health-checking. Serves "" and the Env service name."""

import threading

import grpc

from agentgym_env import _stubs

hpb = _stubs.health_pb2
ENV_SERVICE = "agentgym.env.v1.Env"


class HealthService(_stubs.health_pb2_grpc.HealthServicer):
    """Thread-safe. set_serving(False) (at shutdown) ends every Watch stream."""

    def __init__(self):
        self._cond = threading.Condition()
        self._serving = True
        self._stopped = False

    def _status(self, service: str):
        if service not in ("", ENV_SERVICE):
            return None
        return (hpb.HealthCheckResponse.SERVING if self._serving
                else hpb.HealthCheckResponse.NOT_SERVING)

    def set_serving(self, serving: bool) -> None:
        with self._cond:
            self._serving = serving
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._serving, self._stopped = False, True
            self._cond.notify_all()

    def Check(self, request, context):
        with self._cond:
            status = self._status(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service '{request.service[:100]}'")
        return hpb.HealthCheckResponse(status=status)

    def Watch(self, request, context):
        last = None
        while context.is_active():
            with self._cond:
                status = self._status(request.service)
                if status is None:
                    status = hpb.HealthCheckResponse.SERVICE_UNKNOWN
                if status == last:
                    if self._stopped:
                        return
                    self._cond.wait(timeout=1.0)
                    continue
            last = status
            yield hpb.HealthCheckResponse(status=status)
