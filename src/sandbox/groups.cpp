// Groups and channels: creating them, memberships and admins, and the updates those send
// (chat_member to admin bots, my_chat_member to the bot concerned, join/leave service
// messages in groups).
#include <regex>

#include "sandbox/emulator_impl.hpp"

namespace ms::sandbox {
namespace {

bool is_admin(const std::string& status) { return status == "administrator" || status == "creator"; }
bool is_in(const std::string& status) { return status == "member" || is_admin(status); }

// Tells the bots of `chat` that member `id` went from `before` to `after`.
void member_changed(Emulator::Impl& impl, ChatRec& chat, std::int64_t id, const std::string& before,
                    const std::string& after, std::int64_t actor, Effects& fx) {
  json actor_json = impl.users.count(actor) ? impl.user_json(impl.users.at(actor)) : impl.bot_json(impl.bots.at(actor));
  json change = {{"chat", impl.chat_json(chat)},
                 {"from", actor_json},
                 {"date", impl.clock.unix_seconds()},
                 {"old_chat_member", impl.member_json_locked(id, before)},
                 {"new_chat_member", impl.member_json_locked(id, after)}};
  if (auto bot = impl.bots.find(id); bot != impl.bots.end()) impl.enqueue_locked(bot->second, "my_chat_member", change, fx);
  for (auto& [member, status] : chat.members) {
    if (member == id || !is_admin(status) || !impl.bots.count(member)) continue;
    impl.enqueue_locked(impl.bots.at(member), "chat_member", change, fx);
  }
  // Groups show joins and leaves as service messages, which their bots receive.
  if (chat.type == "channel" || is_in(before) == is_in(after)) return;
  MessageRec& rec = impl.add_message_locked(chat, actor, impl.bots.count(actor) > 0, actor_json);
  json subject = impl.users.count(id) ? impl.user_json(impl.users.at(id)) : impl.bot_json(impl.bots.at(id));
  if (is_in(after)) {
    rec.message["new_chat_members"] = json::array({subject});
  } else {
    rec.message["left_chat_member"] = subject;
  }
  for (auto& [member, status] : chat.members) {
    if (member == id || !is_in(status) || !impl.bots.count(member)) continue;
    impl.enqueue_locked(impl.bots.at(member), "message", rec.message, fx);
  }
}

template <class F>
Result<void> with_chat(Emulator::Impl& impl, std::int64_t chat_id, F&& f) {
  Effects fx;
  Result<void> out;
  {
    std::lock_guard lock(impl.mu);
    auto it = impl.groups.find(chat_id);
    out = it == impl.groups.end() ? Result<void>(fail(ErrorCode::kNotFound, "no such chat")) : f(it->second, fx);
  }
  for (auto& e : fx) e();
  return out;
}

}  // namespace

Result<json> Emulator::create_chat(std::string_view type, std::string_view title, std::string_view username,
                                   std::int64_t owner) {
  static const std::regex kUsername("^[A-Za-z][A-Za-z0-9_]{4,31}$");
  if (type != "channel" && type != "group" && type != "supergroup") {
    return fail(ErrorCode::kInvalidArgument, "type is channel, group or supergroup");
  }
  if (title.empty() || title.size() > 128) return fail(ErrorCode::kInvalidArgument, "title is 1-128 characters");
  if (!username.empty() && (type == "group" || !std::regex_match(std::string(username), kUsername))) {
    return fail(ErrorCode::kInvalidArgument, "a public username is 5-32 letters, digits or _ (not for basic groups)");
  }
  std::lock_guard lock(impl_->mu);
  if (owner != 0 && !impl_->users.count(owner)) return fail(ErrorCode::kNotFound, "no such owner");
  for (const auto& [id, chat] : impl_->groups) {
    if (!username.empty() && chat.username == username) return fail(ErrorCode::kAlreadyExists, "username is taken");
  }
  ChatRec chat;
  chat.id = type == "group" ? impl_->next_group_id-- : impl_->next_channel_id--;
  chat.type = std::string(type);
  chat.title = std::string(title);
  chat.username = std::string(username);
  if (owner != 0) chat.members[owner] = "creator";
  json out = impl_->chat_json(chat);
  impl_->groups.emplace(chat.id, std::move(chat));
  return out;
}

Result<void> Emulator::join_chat(std::int64_t chat_id, std::int64_t user) {
  return with_chat(*impl_, chat_id, [&](ChatRec& chat, Effects& fx) -> Result<void> {
    if (!impl_->users.count(user)) return fail(ErrorCode::kNotFound, "no such user");
    std::string before = chat.members.count(user) ? chat.members[user] : "left";
    if (before == "kicked") return fail(ErrorCode::kPermissionDenied, "the user is banned from this chat");
    if (is_in(before)) return ok();
    chat.members[user] = "member";
    member_changed(*impl_, chat, user, before, "member", user, fx);
    return ok();
  });
}

Result<void> Emulator::leave_chat(std::int64_t chat_id, std::int64_t user) {
  return with_chat(*impl_, chat_id, [&](ChatRec& chat, Effects& fx) -> Result<void> {
    if (!impl_->users.count(user)) return fail(ErrorCode::kNotFound, "no such user");
    std::string before = chat.members.count(user) ? chat.members[user] : "left";
    if (!is_in(before)) return ok();
    chat.members[user] = "left";
    member_changed(*impl_, chat, user, before, "left", user, fx);
    return ok();
  });
}

Result<void> Emulator::add_bot_to_chat(std::int64_t chat_id, std::string_view bot, bool admin) {
  return with_chat(*impl_, chat_id, [&](ChatRec& chat, Effects& fx) -> Result<void> {
    BotRec* b = impl_->find_bot_locked(bot);
    if (!b) return fail(ErrorCode::kNotFound, "no such bot");
    if (chat.type == "channel" && !admin) return fail(ErrorCode::kInvalidArgument, "bots join channels only as administrators");
    std::string before = chat.members.count(b->id) ? chat.members[b->id] : "left";
    std::string after = admin ? "administrator" : "member";
    if (before == after) return ok();
    chat.members[b->id] = after;
    std::int64_t actor = b->id;
    for (const auto& [member, status] : chat.members) {
      if (status == "creator") actor = member;
    }
    member_changed(*impl_, chat, b->id, before, after, actor, fx);
    return ok();
  });
}

Result<void> Emulator::promote_user(std::int64_t chat_id, std::int64_t user) {
  return with_chat(*impl_, chat_id, [&](ChatRec& chat, Effects& fx) -> Result<void> {
    auto it = chat.members.find(user);
    if (it == chat.members.end() || !is_in(it->second)) return fail(ErrorCode::kNotFound, "the user is not a member");
    if (is_admin(it->second)) return ok();
    it->second = "administrator";
    member_changed(*impl_, chat, user, "member", "administrator", user, fx);
    return ok();
  });
}

Result<json> Emulator::read_group(std::int64_t chat_id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->groups.find(chat_id);
  if (it == impl_->groups.end()) return fail(ErrorCode::kNotFound, "no such chat");
  json out = {{"chat", impl_->chat_json(it->second)}, {"messages", json::array()}, {"members", json::array()}};
  for (const auto& [id, rec] : it->second.messages) {
    out["messages"].push_back({{"message", rec.message}, {"from_bot", rec.by_bot}, {"edits", rec.edits}});
  }
  for (const auto& [id, status] : it->second.members) out["members"].push_back({{"id", id}, {"status", status}});
  return out;
}

}  // namespace ms::sandbox
