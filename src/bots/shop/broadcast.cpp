#include "bots/shop/broadcast.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "bots/shop/broadcast_internal.hpp"

namespace ms::shop {
namespace {

using nlohmann::json;
using storage::Session;
using namespace broadcast_internal;

// Who is in an audience (users u), on top of "not blocked, not banned".
std::string_view audience_condition(Audience a) {
  switch (a) {
    case Audience::kAll: return "1 = 1";
    case Audience::kActive: return "EXISTS (SELECT 1 FROM services s WHERE s.user_id = u.id AND s.status = 'active')";
    case Audience::kExpired:
      return "EXISTS (SELECT 1 FROM services s WHERE s.user_id = u.id AND s.status = 'expired') AND NOT EXISTS "
             "(SELECT 1 FROM services s WHERE s.user_id = u.id AND s.status = 'active')";
    case Audience::kNeverBought:
      return "NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.status IN ('paid', 'provisioning', "
             "'completed') AND o.amount_minor > 0)";
  }
  return "1 = 0";
}

}  // namespace

std::string_view to_string(Audience a) {
  switch (a) {
    case Audience::kAll: return "all";
    case Audience::kActive: return "active";
    case Audience::kExpired: return "expired";
    case Audience::kNeverBought: return "never_bought";
  }
  return "all";
}

std::optional<Audience> parse_audience(std::string_view text) {
  for (auto a : {Audience::kAll, Audience::kActive, Audience::kExpired, Audience::kNeverBought}) {
    if (to_string(a) == text) return a;
  }
  return std::nullopt;
}

std::string_view to_string(BroadcastState s) {
  switch (s) {
    case BroadcastState::kQueued: return "queued";
    case BroadcastState::kRunning: return "running";
    case BroadcastState::kPaused: return "paused";
    case BroadcastState::kDone: return "done";
    case BroadcastState::kCancelled: return "cancelled";
  }
  return "queued";
}

BroadcastContent BroadcastContent::plain(std::string text) {
  BroadcastContent c;
  c.text = std::move(text);
  return c;
}
BroadcastContent BroadcastContent::photo(std::string file_id, std::string caption) {
  BroadcastContent c;
  c.kind = Kind::kPhoto;
  c.photo_file_id = std::move(file_id);
  c.text = std::move(caption);
  return c;
}
BroadcastContent BroadcastContent::forward(std::int64_t chat_id, std::int64_t message_id) {
  BroadcastContent c;
  c.kind = Kind::kForward;
  c.from_chat_id = chat_id;
  c.from_message_id = message_id;
  return c;
}

Broadcaster::Broadcaster(storage::Database& db, const i18n::Catalog& catalog, const Clock& clock,
                         BroadcastOptions options)
    : db_(db), catalog_(catalog), clock_(clock), options_(std::move(options)) {
  options_.window = std::max<std::size_t>(1, options_.window);
  options_.page = std::max(1, options_.page);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

Result<std::int64_t> Broadcaster::create(const NewBroadcast& b) {
  const auto& c = b.content;
  if (b.admin_chat_id == 0) return fail(ErrorCode::kInvalidArgument, "broadcast: no chat for the progress message");
  json filter = {{"audience", std::string(to_string(b.audience))},
                 {"admin_chat_id", b.admin_chat_id},
                 {"lang", std::string(i18n::to_string(b.admin_lang))}};
  storage::Value media;
  switch (c.kind) {
    case BroadcastContent::Kind::kText:
      if (c.text.empty()) return fail(ErrorCode::kInvalidArgument, "broadcast: the text is empty");
      filter["kind"] = kKindText;
      break;
    case BroadcastContent::Kind::kPhoto:
      if (c.photo_file_id.empty()) return fail(ErrorCode::kInvalidArgument, "broadcast: no photo");
      filter["kind"] = kKindPhoto;
      media = c.photo_file_id;
      break;
    case BroadcastContent::Kind::kForward:
      if (c.from_chat_id == 0 || c.from_message_id <= 0) {
        return fail(ErrorCode::kInvalidArgument, "broadcast: no message to forward");
      }
      filter["kind"] = kKindForward;
      filter["from_chat_id"] = c.from_chat_id;
      filter["message_id"] = c.from_message_id;
      break;
  }
  const std::int64_t now = clock_.unix_seconds();
  return db_.transaction([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(
        "INSERT INTO broadcasts (text, media_file_id, filter, status, created_by, created_at) "
        "VALUES (:text, :media, :filter, 'queued', :by, :now) RETURNING id",
        {{"text", c.text}, {"media", media}, {"filter", filter.dump()}, {"by", b.admin_chat_id}, {"now", now}});
    if (!row) return fail(std::move(row.error()));
    const std::int64_t id = (*row)->get_int("id");
    auto added = s.exec(
        "INSERT INTO broadcast_recipients (broadcast_id, user_id) SELECT :id, u.id FROM users u "
        "WHERE u.blocked_bot = 0 AND u.banned = 0 AND " +
            std::string(audience_condition(b.audience)),
        {{"id", id}});
    if (!added) return fail(std::move(added.error()));
    auto total = s.exec("UPDATE broadcasts SET total = :n WHERE id = :id", {{"n", *added}, {"id", id}});
    if (!total) return fail(std::move(total.error()));
    return id;
  });
}

Result<BroadcastStatus> Broadcaster::status(std::int64_t id) {
  auto stored = db_.with_session([&](Session& s) { return load(s, id); });
  if (!stored) return fail(std::move(stored.error()));
  return stored->status;
}

Result<std::vector<std::int64_t>> Broadcaster::unfinished() {
  return db_.with_session([&](Session& s) -> Result<std::vector<std::int64_t>> {
    auto rows = s.query("SELECT id FROM broadcasts WHERE status IN ('queued', 'running') ORDER BY id");
    if (!rows) return fail(std::move(rows.error()));
    std::vector<std::int64_t> out;
    for (const auto& r : *rows) out.push_back(r.get_int("id"));
    return out;
  });
}

Result<void> Broadcaster::change_state(std::int64_t id, const std::vector<BroadcastState>& from, BroadcastState to) {
  std::string in;
  for (auto st : from) in += (in.empty() ? "'" : ", '") + std::string(to_string(st)) + "'";
  const bool final = to == BroadcastState::kCancelled || to == BroadcastState::kDone;
  auto changed = db_.with_session([&](Session& s) {
    return s.exec("UPDATE broadcasts SET status = :to" + std::string(final ? ", finished_at = :now" : "") +
                      " WHERE id = :id AND status IN (" + in + ")",
                  final
                      ? storage::Params{{"to", std::string(to_string(to))}, {"now", clock_.unix_seconds()}, {"id", id}}
                      : storage::Params{{"to", std::string(to_string(to))}, {"id", id}});
  });
  if (!changed) return fail(std::move(changed.error()));
  if (*changed == 0) {
    auto now = status(id);
    if (!now) return fail(std::move(now.error()));
    return fail(ErrorCode::kConflict, "broadcast " + std::to_string(id) + " is " + std::string(to_string(now->state)));
  }
  wake(id);
  return ok();
}

Result<void> Broadcaster::pause(std::int64_t id) {
  return change_state(id, {BroadcastState::kQueued, BroadcastState::kRunning}, BroadcastState::kPaused);
}
Result<void> Broadcaster::resume(std::int64_t id) {
  return change_state(id, {BroadcastState::kPaused}, BroadcastState::kQueued);
}
Result<void> Broadcaster::cancel(std::int64_t id) {
  return change_state(id, {BroadcastState::kQueued, BroadcastState::kRunning, BroadcastState::kPaused},
                      BroadcastState::kCancelled);
}

}  // namespace ms::shop
