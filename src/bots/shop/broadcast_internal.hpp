// Shared by broadcast.cpp (creating and steering broadcasts) and broadcast_run.cpp (sending
// them): the stored form of a broadcast. Not part of the shop's interface.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/i18n/digits.hpp"

#include "bots/shop/broadcast.hpp"

namespace ms::shop::broadcast_internal {

using nlohmann::json;
using storage::Session;

inline constexpr std::string_view kKindText = "text", kKindPhoto = "photo", kKindForward = "forward";

inline std::optional<BroadcastState> parse_state(std::string_view s) {
  for (auto st : {BroadcastState::kQueued, BroadcastState::kRunning, BroadcastState::kPaused, BroadcastState::kDone,
                  BroadcastState::kCancelled}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

struct Stored {
  BroadcastStatus status;
  BroadcastContent content;
  json filter;
};

inline Result<Stored> load(Session& s, std::int64_t id) {
  auto row = s.query_one(
      "SELECT id, text, media_file_id, filter, status, total, sent, failed, blocked FROM broadcasts WHERE id = :id",
      {{"id", id}});
  if (!row) return fail(std::move(row.error()));
  if (!*row) return fail(ErrorCode::kNotFound, "broadcast " + std::to_string(id) + " does not exist");
  const auto& r = **row;
  Stored out;
  out.status.id = id;
  auto state = parse_state(r.get_string("status"));
  if (!state) return fail(ErrorCode::kConflict, "broadcast " + std::to_string(id) + " is a draft");
  out.status.state = *state;
  out.status.total = r.get_int("total");
  out.status.sent = r.get_int("sent");
  out.status.failed = r.get_int("failed");
  out.status.blocked = r.get_int("blocked");
  out.filter = json::parse(r.get_string("filter"), nullptr, false);
  if (!out.filter.is_object()) return fail(ErrorCode::kCorrupted, "broadcast " + std::to_string(id) + ": bad filter");
  const std::string kind = out.filter.value("kind", std::string(kKindText));
  out.content.text = r.get_string("text");
  if (kind == kKindPhoto) {
    out.content.kind = BroadcastContent::Kind::kPhoto;
    out.content.photo_file_id = r.opt_string("media_file_id").value_or("");
  } else if (kind == kKindForward) {
    out.content.kind = BroadcastContent::Kind::kForward;
    out.content.from_chat_id = out.filter.value("from_chat_id", std::int64_t{0});
    out.content.from_message_id = out.filter.value("message_id", std::int64_t{0});
  }
  return out;
}

inline std::string local_digits(std::string text, i18n::Lang lang) {
  return lang == i18n::Lang::kFa ? i18n::to_persian_digits(text) : text;
}

// "1:02:03" or "4:05".
inline std::string duration_text(double seconds) {
  const auto s = static_cast<std::int64_t>(std::max(0.0, seconds) + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

}  // namespace ms::shop::broadcast_internal
