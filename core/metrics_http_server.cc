#include "core/metrics_http_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/net_address.h"
#include "httplib.h"

namespace agentgym::metrics {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, const Registry* registry) {
  if (registry == nullptr) return absl::InvalidArgumentError("metrics registry is null");
  auto parsed = ParseHostPort(listen);
  if (!parsed.ok()) return parsed.status();
  const std::string host = parsed->host;
  const int port = parsed->port;

  auto server = std::make_unique<httplib::Server>();
  server->Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry->PrometheusText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  int bound = port == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, port)
                                                                ? port
                                                                : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics HTTP server cannot bind ", listen));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(server), host, bound));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> server, std::string host,
                                     int port)
    : server_(std::move(server)), host_(std::move(host)), port_(port) {
  // listen_after_bind() returns when stop() is called.
  thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace agentgym::metrics
