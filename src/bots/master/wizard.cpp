// The "create a bot" wizard: the token (format checked, getMe against the configured Bot
// API, refused when another instance uses it), the admins (the customer, and others typed),
// an optional channel (the new bot must be an admin there: getChatMember), the first
// Marzban panel (URL, username, password; the password message is deleted; the panel probe
// runs; it can be skipped), then deploy::Deployments::create and the progress message.
// The token and the password are kept in the flow only encrypted (SecretBox).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/i18n/digits.hpp"
#include "domain/rules.hpp"
#include "bots/master/master_impl.hpp"
#include "http/address_policy.hpp"
#include "panels/marzban/marzban.hpp"
#include "panels/probe.hpp"
#include "telegram/bot_client.hpp"

namespace ms::master {

namespace {

std::string trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

// "123 456, 789" (Persian digits too) -> ids; nullopt when anything else is in it.
std::optional<std::vector<std::int64_t>> parse_ids(std::string_view text) {
  std::string normalized = i18n::normalize_digits(text);
  for (char& ch : normalized) {
    if (ch == ',' || ch == '\n' || ch == ';') ch = ' ';
  }
  std::istringstream in(normalized);
  std::vector<std::int64_t> out;
  std::string word;
  while (in >> word) {
    if (word.size() > 15 || !std::all_of(word.begin(), word.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return std::nullopt;
    }
    const auto id = std::stoll(word);
    if (id <= 0) return std::nullopt;
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  if (out.empty() || out.size() > 20) return std::nullopt;
  return out;
}

}  // namespace

bool MasterBot::Impl::may_create_bot(Turn& turn, const CustomerRow& c) {
  if (!ctx.deployments) {
    turn.answer(t(c.lang, "error.unavailable"), true);
    return false;
  }
  auto sub = subs.usable(c.id, now());
  if (!sub) {
    oops(turn, c.lang, sub.error());
    return false;
  }
  if (!*sub) {
    auto kb = keyboard(c.lang);
    kb.button("📦 " + t(c.lang, "master.menu.packages"), "pkgs").row().button(t(c.lang, "common.back"), "menu");
    turn.answer();
    turn.reply(t(c.lang, "master.wizard.no_package"), built(kb));
    return false;
  }
  const auto& package = (*sub)->second;
  if (package.limits.shop_bots) {
    auto bots = ctx.deployments->list(c.id);
    if (!bots) {
      oops(turn, c.lang, bots.error());
      return false;
    }
    const auto count = std::count_if(bots->begin(), bots->end(), [](const deploy::InstanceStatus& b) {
      return b.state != domain::BotState::kDeleted && b.state != domain::BotState::kDeleting;
    });
    if (count >= *package.limits.shop_bots) {
      auto kb = keyboard(c.lang);
      kb.button("📦 " + t(c.lang, "master.menu.packages"), "pkgs").row().button(t(c.lang, "common.back"), "menu");
      turn.answer();
      turn.reply(t(c.lang, "master.wizard.limit",
                   {{"package", package_name(package, c.lang)}, {"limit", number(*package.limits.shop_bots, c.lang)}}),
                 built(kb));
      return false;
    }
  }
  return true;
}

std::optional<std::string> MasterBot::Impl::wizard_token(Turn& turn) {
  auto enc = turn.data().value("token_enc", std::string());
  if (enc.empty()) return std::nullopt;
  auto token = opt.secrets->decrypt(enc);
  if (!token) return std::nullopt;
  return *token;
}

void MasterBot::Impl::delete_message(Turn& turn) {
  if (!turn.update.message) return;
  telegram::DeleteMessage d;
  d.chat_id = turn.chat_id();
  d.message_id = turn.update.message->message_id;
  turn.bot.client().call(d, [](auto r) {
    if (!r) spdlog::warn("master bot: a secret message was not deleted: {}", r.error().to_string());
  });
}

void MasterBot::Impl::ask_admins(Turn& turn, Lang lang) {
  turn.begin("wz.admins", turn.conversation().data);
  auto kb = keyboard(lang);
  kb.button("👤 " + t(lang, "master.wizard.only_me"), "wzme").row().button(t(lang, "common.cancel"), "menu");
  turn.reply(t(lang, "master.wizard.admins", {{"me", std::to_string(turn.user_id())}}), built(kb));
}

void MasterBot::Impl::ask_channel(Turn& turn, Lang lang) {
  turn.begin("wz.channel", turn.conversation().data);
  auto kb = keyboard(lang);
  kb.button("⏭ " + t(lang, "master.wizard.no_channel"), "wznoch").row().button(t(lang, "common.cancel"), "menu");
  turn.reply(t(lang, "master.wizard.channel", {{"bot", "@" + turn.conversation().data.value("username", "")}}),
             built(kb));
}

void MasterBot::Impl::ask_panel(Turn& turn, Lang lang) {
  auto data = turn.conversation().data;
  data.erase("panel");
  turn.begin("wz.purl", data);
  auto kb = keyboard(lang);
  kb.button("⏭ " + t(lang, "master.wizard.skip_panel"), "wznop").row().button(t(lang, "common.cancel"), "menu");
  turn.reply(t(lang, "master.wizard.panel_url"), built(kb));
}

void MasterBot::Impl::finish_wizard(Turn& turn, const CustomerRow& c) {
  const Lang lang = c.lang;
  auto token = wizard_token(turn);
  const auto data = turn.conversation().data;
  turn.end();
  turn.answer();
  if (!token) {
    turn.reply(t(lang, "error.session_expired"));
    return;
  }
  deploy::NewInstance spec;
  spec.customer_id = c.id;
  spec.token = *token;
  spec.owner_telegram_id = c.telegram_id;
  for (const auto& id : data.value("admins", nlohmann::json::array())) {
    if (id.is_number_integer() && id.get<std::int64_t>() != c.telegram_id)
      spec.admin_ids.push_back(id.get<std::int64_t>());
  }
  spec.channel = data.value("channel", "");
  spec.backend = opt.backend;
  auto created = ctx.deployments->create(spec);
  if (!created) {
    const auto code = created.error().code;
    std::string key = "master.wizard.create_failed";
    if (code == ErrorCode::kAlreadyExists) key = "master.wizard.token_in_use";
    if (code == ErrorCode::kPermissionDenied) key = "master.wizard.limit_generic";
    if (code == ErrorCode::kInvalidArgument) key = "master.wizard.token_format";
    spdlog::info("master bot: customer {}'s bot was not created: {}", c.id, created.error().to_string());
    turn.reply(t(lang, key));
    return;
  }
  // The one message the pipeline's progress edits from now on.
  ProgressRow row;
  row.instance_id = *created;
  row.chat_id = turn.chat_id();
  row.lang = lang;
  row.bot_username = data.value("username", "");
  if (data.contains("panel")) row.panel_enc = opt.secrets->encrypt(data["panel"].dump());
  telegram::SendMessage m;
  m.chat_id = turn.chat_id();
  m.text = progress_text(row);
  auto sent = turn.bot.send_sync(m);
  if (!sent) {
    spdlog::warn("master bot: the progress message for bot {} was not sent: {}", *created, sent.error().to_string());
    return;
  }
  row.message_id = sent->message_id;
  if (auto saved = store.save_progress(row, now()); !saved) {
    spdlog::warn("master bot: the progress of bot {} was not saved: {}", *created, saved.error().to_string());
    return;
  }
  {
    std::lock_guard lock(progress_mutex);
    deploy::Progress refresh;  // instance only, attempt 0: bring the new message up to date
    refresh.instance_id = *created;
    refresh.attempt = 0;
    progress_queue.push_back(refresh);
  }
  progress_wake.notify_all();
}

void MasterBot::Impl::register_wizard(telegram::Router& r) {
  auto start = [this](Turn& turn) {
    turn.end();
    auto c = gate(turn);
    if (!c) return;
    if (!may_create_bot(turn, *c)) return;
    turn.begin("wz.token");
    auto kb = keyboard(c->lang);
    kb.button(t(c->lang, "common.cancel"), "menu");
    turn.answer();
    turn.reply(t(c->lang, "master.wizard.token"), built(kb));
  };
  r.on_callback("wz", start);
  r.on_command("newbot", start);

  r.on_state("wz.token", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    const Lang lang = c->lang;
    const std::string token = trimmed(turn.text());
    if (!token.empty()) delete_message(turn);  // a token is a secret: not left in the chat
    if (!domain::validate_bot_token(token)) {
      turn.reply(t(lang, "master.wizard.token_format"));
      return;
    }
    // Telegram must know the token (the Bot API the bots will use: the sandbox in sandbox mode).
    telegram::BotClient client(*opt.http, opt.telegram_api_url, token);
    auto me = client.call_sync(telegram::GetMe{});
    if (!me) {
      if (telegram::is_unauthorized(me.error())) {
        turn.reply(t(lang, "master.wizard.token_refused"));
      } else {
        spdlog::warn("master bot: getMe for a new bot failed: {}", me.error().to_string());
        turn.reply(t(lang, "master.wizard.telegram_down"));
      }
      return;
    }
    if (!me->is_bot || !me->username) {
      turn.reply(t(lang, "master.wizard.token_refused"));
      return;
    }
    // Another instance with this token: refused now, not after all the questions
    // (Deployments::create refuses it too).
    auto bots = ctx.deployments->list(c->id);
    if (bots) {
      for (const auto& b : *bots) {
        if (b.bot_username == *me->username && b.state != domain::BotState::kDeleted) {
          turn.reply(t(lang, "master.wizard.token_in_use"));
          return;
        }
      }
    }
    nlohmann::json data{{"token_enc", opt.secrets->encrypt(token)}, {"username", *me->username}, {"bot_id", me->id}};
    turn.begin("wz.admins", data);
    turn.reply(t(lang, "master.wizard.token_ok", {{"bot", "@" + *me->username}}));
    ask_admins(turn, lang);
  });

  r.on_callback("wzme", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    if (turn.conversation().state != "wz.admins") return turn.answer(t(c->lang, "error.session_expired"), true);
    turn.data()["admins"] = nlohmann::json::array({c->telegram_id});
    turn.answer();
    ask_channel(turn, c->lang);
  });
  r.on_state("wz.admins", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    auto ids = parse_ids(turn.text());
    if (!ids) {
      turn.reply(t(c->lang, "master.wizard.admins_invalid"));
      return;
    }
    if (std::find(ids->begin(), ids->end(), c->telegram_id) == ids->end()) ids->insert(ids->begin(), c->telegram_id);
    turn.data()["admins"] = *ids;
    ask_channel(turn, c->lang);
  });

  r.on_callback("wznoch", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    if (turn.conversation().state != "wz.channel") return turn.answer(t(c->lang, "error.session_expired"), true);
    turn.data()["channel"] = "";
    turn.answer();
    ask_panel(turn, c->lang);
  });
  r.on_state("wz.channel", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    std::string channel = trimmed(turn.text());
    if (channel.rfind("https://t.me/", 0) == 0) channel = "@" + channel.substr(13);
    if (!channel.empty() && channel[0] != '@') channel = "@" + channel;
    const bool well_formed =
        channel.size() >= 6 && channel.size() <= 33 && std::all_of(channel.begin() + 1, channel.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
        });
    if (!well_formed) {
      turn.reply(t(c->lang, "master.wizard.channel_invalid"));
      return;
    }
    auto token = wizard_token(turn);
    if (!token) {
      turn.end();
      turn.reply(t(c->lang, "error.session_expired"));
      return;
    }
    // The new bot must be an administrator there to check its users' membership.
    telegram::BotClient client(*opt.http, opt.telegram_api_url, *token);
    telegram::GetChatMember q;
    q.chat_id = channel;
    q.user_id = turn.data().value("bot_id", std::int64_t{0});
    auto member = client.call_sync(q);
    using S = telegram::ChatMemberStatus;
    if (!member || (member->status != S::kAdministrator && member->status != S::kCreator)) {
      if (!member) spdlog::info("master bot: getChatMember in {}: {}", channel, member.error().to_string());
      turn.reply(t(c->lang, "master.wizard.channel_not_admin",
                   {{"channel", channel}, {"bot", "@" + turn.data().value("username", "")}}));
      return;
    }
    turn.data()["channel"] = channel;
    turn.reply(t(c->lang, "master.wizard.channel_ok", {{"channel", channel}}));
    ask_panel(turn, c->lang);
  });

  r.on_callback("wznop", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    if (turn.conversation().state.rfind("wz.", 0) != 0) return turn.answer(t(c->lang, "error.session_expired"), true);
    turn.data().erase("panel");
    finish_wizard(turn, *c);
  });
  r.on_callback("wzpan", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    if (turn.conversation().state.rfind("wz.", 0) != 0) return turn.answer(t(c->lang, "error.session_expired"), true);
    turn.answer();
    ask_panel(turn, c->lang);
  });
  r.on_state("wz.purl", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    const std::string url = trimmed(turn.text());
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      turn.reply(t(c->lang, "master.wizard.panel_url_invalid"));
      return;
    }
    auto data = turn.conversation().data;
    data["panel_url"] = url;
    turn.begin("wz.puser", data);
    turn.reply(t(c->lang, "master.wizard.panel_user"));
  });
  r.on_state("wz.puser", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    const std::string user = trimmed(turn.text());
    if (user.empty() || user.size() > 64) {
      turn.reply(t(c->lang, "master.wizard.panel_user"));
      return;
    }
    auto data = turn.conversation().data;
    data["panel_user"] = user;
    turn.begin("wz.ppass", data);
    turn.reply(t(c->lang, "master.wizard.panel_pass"));
  });
  r.on_state("wz.ppass", [this](Turn& turn) {
    auto c = gate(turn);
    if (!c) return;
    const Lang lang = c->lang;
    const std::string password = std::string(turn.text());
    delete_message(turn);  // a password is never left in the chat
    if (password.empty()) {
      turn.reply(t(lang, "master.wizard.panel_pass"));
      return;
    }
    auto data = turn.conversation().data;
    panels::MarzbanOptions mo;
    mo.base_url = data.value("panel_url", "");
    mo.username = data.value("panel_user", "");
    mo.password = crypto::Secret(password);
    mo.timeout = std::chrono::seconds(10);
    mo.attempts = 1;
    mo.failures_before_down = 1'000;  // the probe reports every step
    mo.clock = ctx.clock;
    mo.refuse_private_addresses = !opt.allow_private_panel_addresses;
    turn.reply(t(lang, "master.wizard.panel_probing"));
    // Every address the name has now must be public (the client checks each connect again).
    std::optional<panels::PanelError> refused;
    if (mo.refuse_private_addresses) {
      if (auto checked = http::check_public_url(mo.base_url); !checked) {
        refused = panels::PanelError{http::is_address_refusal(checked.error()) ? panels::PanelErrorKind::kAddressRefused
                                                                               : panels::PanelErrorKind::kConnection,
                                     0,
                                     checked.error().message,
                                     {}};
      }
    }
    panels::ProbeReport report;
    if (!refused) {
      panels::MarzbanPanel panel(*opt.http, mo);
      panels::ProbeOptions po;
      po.clock = ctx.clock;
      report = panels::run_probe(
          panel, [&] { return panel.login(); }, po);
    }
    if (refused || !report.ok) {
      const panels::PanelError* first = refused ? &*refused : nullptr;
      for (const auto& step : report.steps) {
        if (!first && !step.ok && step.error) first = &*step.error;
      }
      // The owner reads the catalog's words (only a panel's own answer fills {detail}); curl's
      // text and the refused address go to the log only.
      std::string why = first ? t(lang, first->message_key(), {{"detail", first->detail}}) : "";
      spdlog::info("master bot: customer {}'s panel probe failed: {}", c->id,
                   first ? first->describe() : std::string("no step failed"));
      data.erase("panel_url");
      data.erase("panel_user");
      turn.begin("wz.purl", data);
      auto kb = keyboard(lang);
      kb.button("🔁 " + t(lang, "master.wizard.panel_retry"), "wzpan")
          .row()
          .button("⏭ " + t(lang, "master.wizard.skip_panel"), "wznop");
      turn.reply(t(lang, "master.wizard.panel_failed", {{"why", why}}), built(kb));
      return;
    }
    data["panel"] = {
        {"url", mo.base_url}, {"username", mo.username}, {"password", password}, {"version", report.version}};
    data.erase("panel_url");
    data.erase("panel_user");
    turn.begin("wz.done", data);
    turn.reply(t(lang, "master.wizard.panel_ok", {{"version", report.version}}));
    finish_wizard(turn, *c);
  });
}

}  // namespace ms::master
