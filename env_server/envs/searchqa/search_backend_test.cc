#include "env_server/envs/searchqa/search_backend.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "env_server/envs/searchqa/searchqa_env.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agentgym::env::searchqa {
namespace {

// An httplib server on 127.0.0.1, port 0, serving one retriever endpoint whose
// behaviour the test picks; joined on destruction.
class FakeRetriever {
 public:
  enum class Mode { kOk, kHttpError, kBadJson, kSlow, kTrickle };

  explicit FakeRetriever(Mode mode) : mode_(mode) {
    server_.Post("/retrieve", [this](const httplib::Request& req, httplib::Response& res) {
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      last_query_ = body.value("query", "");
      last_k_ = body.value("k", -1);
      switch (mode_) {
        case Mode::kHttpError: res.status = 500; return;
        case Mode::kBadJson: res.set_content("{\"hits\": 3}", "application/json"); return;
        case Mode::kSlow: release_.WaitForNotificationWithTimeout(absl::Seconds(10)); break;
        case Mode::kTrickle:
          // Headers at once, then one byte every 50 ms for up to 10 s: no
          // single read waits long, only the whole answer is late.
          res.set_chunked_content_provider(
              "application/json", [this](size_t sent, httplib::DataSink& sink) {
                if (sent >= 200 || release_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
                  sink.done();
                  return true;
                }
                return sink.write(" ", 1);
              });
          return;
        case Mode::kOk: break;
      }
      nlohmann::json results = nlohmann::json::array();
      for (int i = 0; i < 5; ++i) {
        results.push_back({{"id", "ext-" + std::to_string(i)},
                           {"title", "External " + std::to_string(i)},
                           {"text", "Passage " + std::to_string(i) + " about " + last_query_}});
      }
      res.set_content(nlohmann::json{{"results", results}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // bind_to_any_port already listens, so clients queue until the loop runs.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() does nothing until the loop has started, so a fixture
    // destroyed before that would wait on the thread forever. Wait for it.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    EXPECT_TRUE(server_.is_running()) << "fake retriever did not start";
  }
  ~FakeRetriever() {
    Release();
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/retrieve"; }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  const std::string& last_query() const { return last_query_; }
  int last_k() const { return last_k_; }

 private:
  Mode mode_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification release_;
  std::string last_query_;
  int last_k_ = 0;
};

TEST(HttpSearchBackendTest, SendsTheContractAndReadsResults) {
  FakeRetriever server(FakeRetriever::Mode::kOk);
  auto backend = HttpSearchBackend::Create(server.url(), 2000);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto results = (*backend)->Search("capital of Valdoria", 3);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);  // the server sent 5; k caps them
  EXPECT_EQ((*results)[0].id, "ext-0");
  EXPECT_EQ((*results)[1].title, "External 1");
  EXPECT_EQ((*results)[2].text, "Passage 2 about capital of Valdoria");
  EXPECT_EQ(server.last_query(), "capital of Valdoria");
  EXPECT_EQ(server.last_k(), 3);
}

TEST(HttpSearchBackendTest, MapsServerFailuresToStatuses) {
  {
    FakeRetriever server(FakeRetriever::Mode::kHttpError);
    auto results = (*HttpSearchBackend::Create(server.url(), 2000))->Search("q", 3);
    EXPECT_EQ(results.status().code(), absl::StatusCode::kUnavailable);
  }
  {
    FakeRetriever server(FakeRetriever::Mode::kBadJson);
    auto results = (*HttpSearchBackend::Create(server.url(), 2000))->Search("q", 3);
    EXPECT_EQ(results.status().code(), absl::StatusCode::kInternal);
  }
  {
    FakeRetriever server(FakeRetriever::Mode::kSlow);
    auto results = (*HttpSearchBackend::Create(server.url(), 200))->Search("q", 3);
    server.Release();
    EXPECT_EQ(results.status().code(), absl::StatusCode::kDeadlineExceeded) << results.status();
  }
}

// A loopback port with a socket that listens (so connects complete in the
// kernel) but never accepts or answers; closed on destruction.
class SilentListener {
 public:
  explicit SilentListener(bool listen) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    if (listen) {
      EXPECT_EQ(::listen(fd_, 4), 0);
    }
  }
  ~SilentListener() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/retrieve"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(HttpSearchBackendTest, ReportsUnreachableServer) {
  // Bound but not listening: connects are refused at once.
  SilentListener closed(/*listen=*/false);
  auto backend = HttpSearchBackend::Create(closed.url(), 500);
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ((*backend)->Search("q", 3).status().code(), absl::StatusCode::kUnavailable);
}

TEST(HttpSearchBackendTest, GivesUpOnAServerThatNeverAnswers) {
  SilentListener silent(/*listen=*/true);
  auto backend = HttpSearchBackend::Create(silent.url(), 200);
  ASSERT_TRUE(backend.ok());
  auto results = (*backend)->Search("q", 3);
  EXPECT_EQ(results.status().code(), absl::StatusCode::kDeadlineExceeded) << results.status();
}

TEST(HttpSearchBackendTest, GivesUpOnAServerThatTricklesItsAnswer) {
  FakeRetriever server(FakeRetriever::Mode::kTrickle);
  auto backend = HttpSearchBackend::Create(server.url(), 300);
  ASSERT_TRUE(backend.ok());
  auto results = (*backend)->Search("q", 3);
  server.Release();
  EXPECT_EQ(results.status().code(), absl::StatusCode::kDeadlineExceeded) << results.status();
}

TEST(HttpSearchBackendTest, RejectsBadUrls) {
  for (const char* url : {"https://x:1/a", "ftp://x", "http://:80/a", "http://h:notaport/a",
                          "http://h:70000/"}) {
    EXPECT_EQ(HttpSearchBackend::Create(url, 100).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
  EXPECT_TRUE(HttpSearchBackend::Create("http://localhost/", 100).ok());
}

TEST(SearchQaEnvTest, SearchGoesToTheConfiguredBackend) {
  FakeRetriever server(FakeRetriever::Mode::kOk);
  auto env = SearchQaEnv::Create({{"search_backend", server.url()}, {"top_k", "2"}});
  ASSERT_TRUE(env.ok()) << env.status();
  // Steps wait on the network, so the server must not run them on gRPC's own threads.
  EXPECT_TRUE((*env)->StepsMayBlock());
  auto local = SearchQaEnv::Create({});
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE((*local)->StepsMayBlock());
  EpisodeStart start;
  auto episode = (*env)->NewEpisode({"nq", Split::kTrain, 0}, 1, &start);
  ASSERT_TRUE(episode.ok());
  auto out = (*episode)->Step("search[who founded it]");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->action_valid);
  EXPECT_NE(out->observation.find("[2] ext-1 | External 1"), std::string::npos)
      << out->observation;
  EXPECT_EQ(out->observation.find("[3]"), std::string::npos);
  EXPECT_EQ(server.last_k(), 2);
  // Ids from the external results can be opened.
  out = (*episode)->Step("open[ext-1]");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->action_valid);
  EXPECT_NE(out->observation.find("Passage 1 about who founded it"), std::string::npos);
}

TEST(SearchQaEnvTest, BackendFailureIsAnErrorStatusNotAnObservation) {
  FakeRetriever server(FakeRetriever::Mode::kHttpError);
  auto env = SearchQaEnv::Create({{"search_backend", server.url()}});
  ASSERT_TRUE(env.ok());
  EpisodeStart start;
  auto episode = (*env)->NewEpisode({"nq", Split::kTrain, 0}, 1, &start);
  ASSERT_TRUE(episode.ok());
  EXPECT_EQ((*episode)->Step("search[x]").status().code(), absl::StatusCode::kUnavailable);
  // Tools that need no retriever still work, and the failed search used no
  // turn.
  auto out = (*episode)->Step("answer[nobody]");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->done);
  EXPECT_EQ(out->info["turn"], 1);
}

}  // namespace
}  // namespace agentgym::env::searchqa
