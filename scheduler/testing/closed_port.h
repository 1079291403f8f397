#ifndef AGENTGYM_SCHEDULER_TESTING_CLOSED_PORT_H_
#define AGENTGYM_SCHEDULER_TESTING_CLOSED_PORT_H_

// A loopback port where nothing listens, for "cannot reach" tests. A fixed
// port such as 1 is not safe: any process may listen there. This binds a TCP
// socket to 127.0.0.1:0 without listening and holds it, so connections are
// refused and no other process can take the port while the object lives.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace agentgym::testutil {

class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~ClosedPort() {
    if (fd_ >= 0) close(fd_);
  }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace agentgym::testutil

#endif  // AGENTGYM_SCHEDULER_TESTING_CLOSED_PORT_H_
