#include "actor/learner_sink.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "grpcpp/grpcpp.h"

namespace agentgym::actor {

namespace lpb = ::agentgym::learner::v1;

absl::StatusOr<std::unique_ptr<LearnerSink>> LearnerSink::Create(LearnerSinkOptions options) {
  if (!options.learner_address) return absl::InvalidArgumentError("LearnerSink needs learner_address");
  if (options.stream_timeout <= absl::ZeroDuration() || options.ack_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("LearnerSink timeouts must be positive");
  }
  if (absl::Status s = MakeChannelCredentials(options.security).status(); !s.ok()) return s;
  return std::unique_ptr<LearnerSink>(new LearnerSink(std::move(options)));
}

LearnerSink::LearnerSink(LearnerSinkOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { ConnectionLoop(); });
}

LearnerSink::~LearnerSink() { Close(); }

void LearnerSink::Close() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status LearnerSink::Send(tpb::Trajectory trajectory) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("learner sink is closed");
  const std::string id = trajectory.trajectory_id();
  if (id.empty()) return absl::InvalidArgumentError("trajectory without trajectory_id");
  if (unacked_.count(id) > 0) return absl::AlreadyExistsError(absl::StrCat("trajectory ", id, " is already queued"));
  unacked_[id] = std::move(trajectory);
  order_[id] = next_seq_++;
  to_write_.push_back(id);
  return absl::OkStatus();
}

int64_t LearnerSink::Unacked() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(unacked_.size());
}

int64_t LearnerSink::Acked() const {
  absl::MutexLock lock(&mu_);
  return acked_;
}

int64_t LearnerSink::rejected() const {
  absl::MutexLock lock(&mu_);
  return rejected_;
}

int64_t LearnerSink::stale() const {
  absl::MutexLock lock(&mu_);
  return stale_;
}

int64_t LearnerSink::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

int64_t LearnerSink::resent() const {
  absl::MutexLock lock(&mu_);
  return resent_;
}

int64_t LearnerSink::retained() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(retained_.size());
}

bool LearnerSink::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto flushed = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return unacked_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&flushed), timeout);
}

bool LearnerSink::WaitForAcked(int64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return acked_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

void LearnerSink::ReadAcks(grpc::ClientReaderWriter<lpb::IngestRequest, lpb::IngestAck>* stream) {
  auto log = GetLogger("actor");
  lpb::IngestAck ack;
  while (stream->Read(&ack)) {
    {
      absl::MutexLock lock(&mu_);
      last_ack_ = absl::Now();
      auto it = unacked_.find(ack.trajectory_id());
      if (it != unacked_.end()) {
        // Kept until a checkpoint after this step exists (whatever the
        // status: a stale or rejected one is counted by the learner too).
        if (ack.checkpoint_step() <= ack.step()) {
          retained_[ack.trajectory_id()] = {ack.step(), std::move(it->second)};
        } else {
          order_.erase(ack.trajectory_id());
        }
        unacked_.erase(it);
        ++acked_;
        if (ack.status() == lpb::ACK_STATUS_REJECTED) ++rejected_;
        if (ack.status() == lpb::ACK_STATUS_STALE) ++stale_;
      }
      for (auto r = retained_.begin(); r != retained_.end();) {
        if (r->second.first < ack.checkpoint_step()) {
          order_.erase(r->first);
          r = retained_.erase(r);
        } else {
          ++r;
        }
      }
    }
    if (ack.status() == lpb::ACK_STATUS_REJECTED) {
      log->warn("learner rejected trajectory {}: {}", ack.trajectory_id(), ack.reason());
    }
    if (options_.on_policy_version) options_.on_policy_version(ack.policy_version());
  }
  absl::MutexLock lock(&mu_);
  stream_broken_ = true;
}

absl::Status LearnerSink::RunStream(const std::string& address) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateSecureChannel(address, options_.security);
  if (!channel.ok()) return channel.status();
  auto stub = lpb::Learner::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.stream_timeout));
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::CancelledError("closed");
    active_ = &ctx;
    stream_broken_ = false;
    last_ack_ = absl::Now();
    // Everything unacked, then everything acked that no learner checkpoint
    // holds yet, goes (again) on this stream, in the order it was sent.
    std::vector<std::pair<uint64_t, std::string>> ids;
    for (const auto& [id, seq] : order_) ids.push_back({seq, id});
    std::sort(ids.begin(), ids.end());
    const size_t fresh = to_write_.size();
    to_write_.clear();
    for (auto& [seq, id] : ids) to_write_.push_back(id);
    resent_ += static_cast<int64_t>(to_write_.size() - std::min(fresh, to_write_.size()));
  }
  std::unique_ptr<grpc::ClientReaderWriter<lpb::IngestRequest, lpb::IngestAck>> stream = stub->Ingest(&ctx);
  std::thread reader([this, s = stream.get()] { ReadAcks(s); });
  absl::Status why = absl::OkStatus();
  while (true) {
    lpb::IngestRequest req;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return closed_ || stream_broken_ || !to_write_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Seconds(1));
      if (closed_) break;
      if (stream_broken_) {
        why = absl::UnavailableError("Ingest stream ended");
        break;
      }
      if (!unacked_.empty() && to_write_.empty() && absl::Now() - last_ack_ > options_.ack_timeout) {
        why = absl::DeadlineExceededError("no ack within ack_timeout");
        break;
      }
      if (to_write_.empty()) continue;
      const std::string id = to_write_.front();
      to_write_.pop_front();
      if (auto it = unacked_.find(id); it != unacked_.end()) {
        *req.mutable_trajectory() = it->second;
      } else if (auto r = retained_.find(id); r != retained_.end()) {
        *req.mutable_trajectory() = r->second.second;
      } else {
        continue;  // acked meanwhile (a resend's first ack), or now checkpointed
      }
    }
    if (!stream->Write(req)) {
      why = absl::UnavailableError("Ingest write failed");
      break;
    }
  }
  ctx.TryCancel();
  reader.join();
  grpc::Status st = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    why = absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
  }
  return why;
}

void LearnerSink::ConnectionLoop() {
  auto log = GetLogger("actor");
  absl::Duration backoff = options_.initial_backoff;
  bool first = true;
  while (true) {
    int64_t acked_before = 0;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      if (!first) ++reconnects_;
      acked_before = acked_;
    }
    first = false;
    const std::string address = options_.learner_address();
    absl::Status why = address.empty() ? absl::UnavailableError("learner address not known yet") : RunStream(address);
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    if (acked_ > acked_before) backoff = options_.initial_backoff;  // the stream did work
    if (!address.empty()) {
      log->warn("Ingest stream to {} ended ({}); {} unacked, reconnecting in {}", address, why.ToString(),
                unacked_.size(), absl::FormatDuration(backoff));
    }
    auto closing = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_; };
    mu_.AwaitWithTimeout(absl::Condition(&closing), backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace agentgym::actor
