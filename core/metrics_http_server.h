#ifndef AGENTGYM_CORE_METRICS_HTTP_SERVER_H_
#define AGENTGYM_CORE_METRICS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "core/metrics.h"

namespace httplib {
class Server;
}

namespace agentgym::metrics {

// Serves a Registry over HTTP so existing Prometheus dashboards can scrape a
// process: GET /metrics returns the text exposition format 0.0.4, GET /healthz
// returns "ok". Runs cpp-httplib on one thread it owns; Stop() (or the
// destructor) stops and joins it. The registry must outlive the server.
// Thread-safe.
class MetricsHttpServer {
 public:
  // `listen` is host:port; port 0 picks a free port (see port()).
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                  const Registry* registry);
  ~MetricsHttpServer();

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  void Stop();

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> server, std::string host, int port);

  std::unique_ptr<httplib::Server> server_;
  const std::string host_;
  const int port_;
  std::thread thread_;
};

}  // namespace agentgym::metrics

#endif  // AGENTGYM_CORE_METRICS_HTTP_SERVER_H_
