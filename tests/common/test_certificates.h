#ifndef AGENTGYM_TESTS_COMMON_TEST_CERTIFICATES_H_
#define AGENTGYM_TESTS_COMMON_TEST_CERTIFICATES_H_

// Certificates for the TLS tests, made once per process by the openssl
// command line in a scratch directory: a CA ("ca.pem"/"ca.key"), a server
// certificate for localhost and 127.0.0.1 it signed ("server.pem"/".key"),
// a client certificate it signed ("client.pem"/".key"), a client
// certificate of another CA ("stranger.pem"/".key"), and token files
// ("token": s3cret-token, "wrong-token", "empty-token"). Thread-safe after
// the first call.

#include <string>

namespace agentgym::testing {

class TestCertificates {
 public:
  // The shared set; ok() is false when openssl could not make it (the tests
  // then skip, saying so).
  static const TestCertificates& Get();
  bool ok() const { return ok_; }
  // The path of one of the files above.
  std::string operator[](const std::string& name) const { return dir_ + "/" + name; }

 private:
  TestCertificates();
  std::string dir_;
  bool ok_ = false;
};

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_COMMON_TEST_CERTIFICATES_H_
