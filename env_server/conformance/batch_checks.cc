// Checks of the batched path: items fail independently, results keep the
// request's order and equal what the unbatched calls give.

#include "absl/strings/str_cat.h"
#include "env_server/conformance/checks.h"

namespace agentgym::env::conformance {
namespace {

constexpr uint64_t kSeed = 99;

int ItemCode(const v1::ItemError& e) { return e.code(); }

void CheckBatch(Context& ctx, Verdict& v) {
  v1::BatchCreateRequest create;
  *create.add_items() = CreateForTask(ctx, kSeed);
  *create.add_items() = CreateForTask(ctx, kSeed + 1);
  v1::CreateRequest bad = CreateForTask(ctx, kSeed);
  bad.set_env("no-such-env-conformance");
  *create.add_items() = bad;
  auto created = ctx.client->BatchCreate(create);
  if (!v.ExpectOk(created.status(), "BatchCreate")) return;
  if (created->items_size() != 3) {
    v.Fail(absl::StrCat("BatchCreate of 3 items answered ", created->items_size()));
    return;
  }
  std::vector<std::unique_ptr<SessionCloser>> closers;
  for (int i = 0; i < 2; ++i) {
    const auto& item = created->items(i);
    if (ItemCode(item.error()) != 0 || item.created().session_id().empty()) {
      v.Fail(absl::StrCat("BatchCreate item ", i, " failed: ", item.error().message()));
      return;
    }
    closers.push_back(std::make_unique<SessionCloser>(ctx.client, item.created().session_id()));
  }
  if (ItemCode(created->items(2).error()) != static_cast<int>(absl::StatusCode::kNotFound)) {
    v.Fail(absl::StrCat("BatchCreate item for an unknown env: want code 5 (NOT_FOUND), got ",
                        ItemCode(created->items(2).error())));
  }
  const std::string s0 = created->items(0).created().session_id();
  const std::string s1 = created->items(1).created().session_id();

  // Twins created one by one give the reference results.
  auto twin0 = ctx.client->Create(CreateForTask(ctx, kSeed));
  auto twin1 = ctx.client->Create(CreateForTask(ctx, kSeed + 1));
  if (!v.ExpectOk(twin0.status(), "Create") || !v.ExpectOk(twin1.status(), "Create")) return;
  SessionCloser c0(ctx.client, twin0->session_id()), c1(ctx.client, twin1->session_id());
  const std::string& action = ctx.options->actions[0];

  v1::BatchStepRequest step;
  auto add = [&](const std::string& id, const std::string& a) {
    auto* item = step.add_items();
    item->set_session_id(id);
    item->set_action(a);
  };
  add(s0, action);
  add("no-such-session-conformance", action);
  add(s1, action);
  add(s0, "bad \xff utf8");
  auto stepped = ctx.client->BatchStep(step);
  if (!v.ExpectOk(stepped.status(), "BatchStep")) return;
  if (stepped->items_size() != 4) {
    v.Fail(absl::StrCat("BatchStep of 4 items answered ", stepped->items_size()));
    return;
  }
  const int want_codes[] = {0, static_cast<int>(absl::StatusCode::kNotFound), 0,
                            static_cast<int>(absl::StatusCode::kInvalidArgument)};
  for (int i = 0; i < 4; ++i) {
    if (ItemCode(stepped->items(i).error()) != want_codes[i]) {
      v.Fail(absl::StrCat("BatchStep item ", i, ": want code ", want_codes[i], ", got ",
                          ItemCode(stepped->items(i).error()), " (",
                          stepped->items(i).error().message().substr(0, 120), ")"));
    }
  }
  if (v.failed()) return;
  auto ref0 = ctx.client->Step(twin0->session_id(), action);
  auto ref1 = ctx.client->Step(twin1->session_id(), action);
  if (!v.ExpectOk(ref0.status(), "Step") || !v.ExpectOk(ref1.status(), "Step")) return;
  if (Summarize(stepped->items(0).result()) + stepped->items(0).result().observation() !=
          Summarize(*ref0) + ref0->observation() ||
      Summarize(stepped->items(2).result()) + stepped->items(2).result().observation() !=
          Summarize(*ref1) + ref1->observation()) {
    v.Fail("BatchStep results differ from Step on twin sessions (order or content)");
  }

  v1::BatchCloseRequest close;
  close.add_session_ids(s0);
  close.add_session_ids("no-such-session-conformance");
  close.add_session_ids(s1);
  auto closed = ctx.client->BatchClose(close);
  if (!v.ExpectOk(closed.status(), "BatchClose")) return;
  for (auto& c : closers) c->Release();
  if (closed->errors_size() != 3 || closed->errors(0).code() != 0 ||
      closed->errors(1).code() != static_cast<int>(absl::StatusCode::kNotFound) ||
      closed->errors(2).code() != 0) {
    v.Fail("BatchClose of [open, unknown, open] did not answer codes [0, 5, 0]");
  }
  v.ExpectCode(ctx.client->Step(s0, action).status(), absl::StatusCode::kNotFound,
               "Step after BatchClose");
}

void CheckOversizedBatch(Context& ctx, Verdict& v) {
  const int64_t limit = ctx.server.max_batch_items();
  if (limit > 200000) {
    v.Skip(absl::StrCat("max_batch_items ", limit, " is too large to probe"));
    return;
  }
  v1::BatchCloseRequest close;
  for (int64_t i = 0; i <= limit; ++i) close.add_session_ids("x");
  v.ExpectCode(ctx.client->BatchClose(close).status(), absl::StatusCode::kInvalidArgument,
               absl::StrCat("BatchClose of max_batch_items+1 (", limit + 1, ") items"));
  v1::BatchStepRequest step;
  for (int64_t i = 0; i <= limit; ++i) {
    auto* item = step.add_items();
    item->set_session_id("x");
    item->set_action("a");
  }
  v.ExpectCode(ctx.client->BatchStep(step).status(), absl::StatusCode::kInvalidArgument,
               absl::StrCat("BatchStep of max_batch_items+1 (", limit + 1, ") items"));
}

}  // namespace

std::vector<NamedCheck> BatchChecks() {
  return {{"batch", CheckBatch}, {"batch.oversized", CheckOversizedBatch}};
}

}  // namespace agentgym::env::conformance
