// The admins' people side, broadcasts: the audience (everyone, an active service, expired,
// never bought), the message (text, a photo with its caption, or a forward), a confirmation,
// then Broadcaster::run on a thread of its own with ONE progress message in the admin's chat
// whose pause / resume / cancel buttons work from there. Broadcasts a restart left queued or
// running go on when the shop resumes.
#include <spdlog/spdlog.h>

#include "bots/shop/broadcast.hpp"
#include "bots/shop/shop_impl.hpp"

namespace ms::shop {

namespace {

using nlohmann::json;

constexpr Audience kAudiences[] = {Audience::kAll, Audience::kActive, Audience::kExpired, Audience::kNeverBought};

json to_json(const BroadcastContent& c) {
  return {{"kind", static_cast<int>(c.kind)},
          {"text", c.text},
          {"photo", c.photo_file_id},
          {"chat", c.from_chat_id},
          {"message", c.from_message_id}};
}

BroadcastContent content_from(const json& j) {
  BroadcastContent c;
  c.kind = static_cast<BroadcastContent::Kind>(j.value("kind", 0));
  c.text = j.value("text", std::string());
  c.photo_file_id = j.value("photo", std::string());
  c.from_chat_id = j.value("chat", std::int64_t{0});
  c.from_message_id = j.value("message", std::int64_t{0});
  return c;
}

}  // namespace

ShopBot::Impl::~Impl() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(broadcast_mutex_);
    closing_ = true;
    threads.swap(broadcast_threads_);
  }
  // Runs in progress stop with their broadcasts left running (resumed at the next start).
  if (broadcaster_) broadcaster_->close();
  for (auto& th : threads) th.join();
}

void ShopBot::Impl::run_broadcast(std::int64_t id) {
  std::lock_guard lock(broadcast_mutex_);
  if (closing_ || !broadcaster_) return;
  broadcast_threads_.emplace_back([this, id] {
    auto ctx = deps.runtime ? deps.runtime->context(deps.bot_key) : nullptr;
    auto done = broadcaster_->run(id, ctx);
    if (!done && done.error().code != ErrorCode::kConflict) {
      spdlog::warn("shop {}: broadcast {}: {}", deps.tenant_id, id, done.error().to_string());
    }
  });
}

void ShopBot::Impl::resume_broadcasts() {
  if (!broadcaster_) return;
  auto left = broadcaster_->unfinished();
  if (!left) {
    spdlog::warn("shop {}: unfinished broadcasts: {}", deps.tenant_id, left.error().to_string());
    return;
  }
  for (auto id : *left) run_broadcast(id);
}

void ShopBot::Impl::register_admin_broadcast(telegram::Router& r) {
  BroadcastOptions options;
  options.keyboard = [this](const BroadcastStatus& s, Lang lang) -> std::optional<telegram::InlineKeyboardMarkup> {
    if (s.state == BroadcastState::kDone || s.state == BroadcastState::kCancelled) return std::nullopt;
    auto kb = keyboard(lang);
    if (s.state == BroadcastState::kPaused) {
      kb.button(t(lang, "shop.broadcast.resume_button"), "a_bcr", {s.id});
    } else {
      kb.button(t(lang, "shop.broadcast.pause_button"), "a_bcp", {s.id});
    }
    kb.button(t(lang, "shop.broadcast.cancel_button"), "a_bcx", {s.id});
    return built(kb);
  };
  broadcaster_ = std::make_unique<Broadcaster>(*deps.db, texts, *deps.clock, std::move(options));

  // 1. The audience.
  r.on_callback("a_bc", [this](Turn& turn) {
    turn.end();
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto kb = keyboard(lang);
    for (auto a : kAudiences) {
      kb.button(t(lang, "shop.broadcast.audience." + std::string(to_string(a))), "a_bca", {std::string(to_string(a))})
          .row();
    }
    kb.button(t(lang, "common.back"), "admin");
    turn.answer();
    turn.edit(t(lang, "shop.admin.bc.audience"), built(kb));
  });

  // 2. The message.
  r.on_callback("a_bca", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    auto audience = turn.callback()->string_at(0);
    if (!audience || !parse_audience(*audience)) return turn.answer();
    turn.begin("a_bcm", {{"aud", *audience}}, std::chrono::minutes(30));
    turn.answer();
    auto kb = keyboard(lang);
    kb.button(t(lang, "common.cancel"), "admin");
    turn.reply(t(lang, "shop.admin.bc.ask_content"), built(kb));
  });
  r.on_state("a_bcm", [this](Turn& turn) {
    auto role = settings().role_of(turn.user_id());
    if (!role || *role == AdminRole::kSupport || !turn.update.message) return turn.end();
    const Lang lang = admin_lang(turn.user_id());
    const auto& m = *turn.update.message;
    std::optional<BroadcastContent> content;
    if (m.forward_origin) {
      content = BroadcastContent::forward(turn.chat_id(), m.message_id);
    } else if (!m.photo.empty()) {
      content = BroadcastContent::photo(m.photo.back().file_id, m.caption.value_or(""));
    } else if (m.text && !m.text->empty()) {
      content = BroadcastContent::plain(*m.text);
    }
    if (!content) return turn.reply(t(lang, "shop.admin.bc.bad_content"));
    const std::string audience = turn.data().value("aud", std::string("all"));
    turn.begin("a_bcok", {{"aud", audience}, {"content", to_json(*content)}}, std::chrono::minutes(30));
    auto kb = keyboard(lang);
    kb.button("📣 " + t(lang, "shop.admin.bc.send_button"), "a_bcgo").button(t(lang, "common.cancel"), "admin");
    turn.reply(t(lang, "shop.admin.bc.confirm", {{"audience", t(lang, "shop.broadcast.audience." + audience)}}),
               built(kb));
  });

  // 3. Confirmed: the broadcast is made and runs on its own thread.
  r.on_callback("a_bcgo", [this](Turn& turn) {
    if (!admin_gate(turn, true)) return;
    const Lang lang = admin_lang(turn.user_id());
    if (turn.conversation().state != "a_bcok") return turn.answer(t(lang, "error.session_expired"), true);
    NewBroadcast b;
    b.audience = parse_audience(turn.data().value("aud", std::string("all"))).value_or(Audience::kAll);
    b.content = content_from(turn.data()["content"]);
    b.admin_chat_id = turn.chat_id();
    b.admin_lang = lang;
    turn.end();
    auto id = broadcaster_->create(b);
    if (!id) return oops(turn, lang, id.error());
    turn.answer(t(lang, "shop.admin.bc.started"));
    turn.edit(t(lang, "shop.admin.bc.started"));
    run_broadcast(*id);
  });

  // The progress message's buttons.
  auto control = [this](std::string action) {
    return [this, action](Turn& turn) {
      if (!admin_gate(turn, true)) return;
      const Lang lang = admin_lang(turn.user_id());
      auto id = turn.callback()->int_at(0);
      if (!id) return turn.answer();
      Result<void> done = action == "pause"    ? broadcaster_->pause(*id)
                          : action == "resume" ? broadcaster_->resume(*id)
                                               : broadcaster_->cancel(*id);
      if (!done) {
        if (done.error().code == ErrorCode::kConflict || done.error().code == ErrorCode::kNotFound) {
          return turn.answer(t(lang, "shop.admin.bc.not_now"), true);
        }
        return oops(turn, lang, done.error());
      }
      turn.answer(t(lang, "shop.admin.bc." + action + "_done"));
      // A resumed one runs again; a paused or cancelled one that is not running here (a
      // restart) gets its final state shown by a run that returns at once.
      run_broadcast(*id);
    };
  };
  r.on_callback("a_bcp", control("pause"));
  r.on_callback("a_bcr", control("resume"));
  r.on_callback("a_bcx", control("cancel"));
}

}  // namespace ms::shop
