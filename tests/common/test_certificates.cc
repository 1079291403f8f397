#include "tests/common/test_certificates.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace agentgym::testing {

const TestCertificates& TestCertificates::Get() {
  static const TestCertificates* certs = new TestCertificates();
  return *certs;
}

TestCertificates::TestCertificates()
    : dir_(absl::StrCat(std::filesystem::temp_directory_path().string(), "/agentgym-test-certs-", getpid())) {
  // EC keys: generated in milliseconds, unlike RSA.
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script = absl::StrCat(
      "set -e; rm -rf ", dir_, "; mkdir -p ", dir_, "; cd ", dir_, ";",
      "openssl req -x509 ", ec, " -keyout ca.key -out ca.pem -days 2 -subj /CN=agentgym-test-ca 2>/dev/null;",
      "openssl req -x509 ", ec, " -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null;",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext;",
      "openssl req ", ec, " -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null;",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
      "-extfile san.ext 2>/dev/null;",
      "openssl req ", ec, " -keyout client.key -out client.csr -subj /CN=actor 2>/dev/null;",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 "
      "2>/dev/null;",
      "openssl req ", ec, " -keyout stranger.key -out stranger.csr -subj /CN=stranger 2>/dev/null;",
      "openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial "
      "-out stranger.pem -days 2 2>/dev/null;",
      "printf 's3cret-token\\n' > token; printf 'wrong-token\\n' > wrong-token; : > empty-token");
  ok_ = std::system(script.c_str()) == 0;
  // Removed at exit: the keys are throwaway, but a scratch directory per
  // test process should not pile up.
  static const std::string* to_remove = new std::string(dir_);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(*to_remove, ec);
  });
}

}  // namespace agentgym::testing
