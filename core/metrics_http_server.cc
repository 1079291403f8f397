#include "core/metrics_http_server.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace agentgym::metrics {

absl::Status ParseHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", address, "' must look like host:port"));
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", address, "' has a bad port (want 0..65535)"));
  }
  *host = h;
  *port = p;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, const Registry* registry) {
  if (registry == nullptr) return absl::InvalidArgumentError("metrics registry is null");
  std::string host;
  int port = 0;
  absl::Status parsed = ParseHostPort(listen, &host, &port);
  if (!parsed.ok()) return parsed;

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
