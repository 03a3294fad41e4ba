// The deployment's ONE progress message: every Progress event of an instance that has a
// row in master_bot_progress edits it (token verified, tenant ready, configured, started,
// healthy), ending with "@bot is live" and its t.me link. Events are queued by the
// pipeline's worker and applied on the bot's own thread. After a restart resume_progress()
// rebuilds each unfinished message from the instance's recorded state, then events go on.
// The wizard's first panel is stored into the tenant once its database is ready.
#include <spdlog/spdlog.h>

#include "core/crypto/secret.hpp"
#include "core/i18n/digits.hpp"
#include "bots/master/master_impl.hpp"
#include "panels/panel_repository.hpp"
#include "telegram/errors.hpp"

namespace ms::master {

namespace {

using deploy::Step;
using deploy::StepStatus;
using domain::BotState;

std::string_view status_name(StepStatus s) {
  switch (s) {
    case StepStatus::kStarted: return "started";
    case StepStatus::kDone: return "done";
    case StepStatus::kRetrying: return "retrying";
    case StepStatus::kFailed: return "failed";
  }
  return "started";
}

// How many steps the recorded state says are done.
int steps_done(const deploy::InstanceStatus& s) {
  switch (s.state) {
    case BotState::kCreated: return 0;
    case BotState::kTokenVerified: return 1;
    case BotState::kTenantReady: return 2;
    case BotState::kConfigured:
    case BotState::kStarting: return 3;
    case BotState::kRunning:
    case BotState::kRestarting: return s.deploy_ms || s.heartbeat_at ? 5 : 4;
    default: return -1;  // stopped, failed, suspended, deleting: the events say more
  }
}

}  // namespace

void MasterBot::Impl::on_progress(const deploy::Progress& p) {
  {
    std::lock_guard lock(progress_mutex);
    if (stopping) return;
    progress_queue.push_back(p);
  }
  progress_wake.notify_all();
}

void MasterBot::Impl::progress_loop() {
  std::unique_lock lock(progress_mutex);
  while (true) {
    progress_wake.wait(lock, [&] { return stopping || !progress_queue.empty(); });
    if (stopping) return;
    auto p = progress_queue.front();
    progress_queue.pop_front();
    lock.unlock();
    try {
      apply_progress(p);
    } catch (const std::exception& e) {
      spdlog::error("master bot: progress of bot {}: {}", p.instance_id, e.what());
    }
    lock.lock();
  }
}

// attempt 0 is our own "bring the message up to date from the recorded state".
void MasterBot::Impl::apply_progress(const deploy::Progress& p) {
  if (!ctx.deployments) return;
  if (p.attempt == 0) {
    // The wizard's row is saved now: first the events that came before it, step by step.
    auto early = early_progress.find(p.instance_id);
    if (early != early_progress.end()) {
      auto events = std::move(early->second);
      early_progress.erase(early);
      for (const auto& e : events) apply_progress(e);
    }
    // Events of this instance still queued bring the message along step by step; a refresh
    // from the recorded state now would jump to the end and make them no-ops.
    std::lock_guard lock(progress_mutex);
    for (const auto& q : progress_queue)
      if (q.instance_id == p.instance_id && q.attempt > 0) return;
  }
  auto row = store.progress(p.instance_id);
  if (!row) {
    spdlog::warn("master bot: progress of bot {}: {}", p.instance_id, row.error().to_string());
    return;
  }
  if (!*row) {
    // Not deployed from the wizard, or the wizard has not saved its row yet: kept a while.
    if (p.attempt > 0) {
      if (!early_progress.count(p.instance_id) && early_progress.size() >= kMaxEarly)
        early_progress.erase(early_progress.begin());  // the oldest instance id
      early_progress[p.instance_id].push_back(p);
    }
    return;
  }
  if ((*row)->finished) {
    // Already live: only a failure at run time (the pipeline's watch) is news for the owner.
    if (p.attempt > 0 && p.status == StepStatus::kFailed) tell_stopped(**row, p);
    return;
  }
  auto& r = **row;
  if (p.attempt == 0) {
    auto status = ctx.deployments->status(p.instance_id);
    if (status) {
      if (r.bot_username.empty()) r.bot_username = status->bot_username;
      const int done = steps_done(*status);
      for (int i = 0; i < done; ++i) {
        auto& s = r.steps[std::string(step_name(kSteps[i]))];
        if (!s.is_object()) s = nlohmann::json::object();
        s["status"] = "done";
        if (kSteps[i] == Step::kHealthy && status->deploy_ms) s["deploy_ms"] = *status->deploy_ms;
      }
      if (status->state == BotState::kFailed && !status->last_error.empty()) {
        for (auto step : kSteps) {
          auto& s = r.steps[std::string(step_name(step))];
          if (!s.is_object()) s = nlohmann::json::object();
          if (s.value("status", "") != "done") {
            s["status"] = "failed";
            s["error"] = status->last_error;
            break;
          }
        }
      }
    }
  } else {
    auto& s = r.steps[std::string(step_name(p.step))];
    if (!s.is_object()) s = nlohmann::json::object();
    // A late "started" never undoes a "done" (events of one step may be reordered by a retry).
    if (!(s.value("status", "") == "done" && p.status == StepStatus::kStarted)) {
      s["status"] = std::string(status_name(p.status));
      s["attempt"] = p.attempt;
      if (!p.error.empty()) s["error"] = p.error;
      if (p.deploy_ms) s["deploy_ms"] = *p.deploy_ms;
    }
    // A step done means the ones before it are too.
    for (auto step : kSteps) {
      if (step == p.step) break;
      if (p.status == StepStatus::kDone || p.status == StepStatus::kStarted)
        r.steps[std::string(step_name(step))]["status"] = "done";
    }
  }
  if (r.steps.value("tenant_ready", nlohmann::json::object()).value("status", "") == "done") store_first_panel(r);
  r.finished = r.steps.value("healthy", nlohmann::json::object()).value("status", "") == "done";
  if (r.bot_username.empty()) {
    if (auto status = ctx.deployments->status(r.instance_id)) r.bot_username = status->bot_username;
  }
  render_progress(r);
  if (auto saved = store.save_progress(r, now()); !saved) {
    spdlog::warn("master bot: saving the progress of bot {}: {}", r.instance_id, saved.error().to_string());
  }
}

std::string MasterBot::Impl::progress_text(const ProgressRow& row) const {
  const Lang lang = row.lang;
  const std::string bot = "@" + row.bot_username;
  const auto healthy = row.steps.value("healthy", nlohmann::json::object());
  if (healthy.value("status", "") == "done") {
    std::string seconds = "-";
    if (healthy.contains("deploy_ms")) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", healthy["deploy_ms"].get<double>() / 1000.0);
      seconds = lang == Lang::kFa ? i18n::to_persian_digits(buf) : buf;
    }
    return t(lang, "master.deploy.live",
             {{"bot", bot}, {"link", "https://t.me/" + row.bot_username}, {"seconds", seconds}});
  }
  std::string text = t(lang, "master.deploy.title", {{"bot", bot}}) + "\n";
  for (auto step : kSteps) {
    const auto s = row.steps.value(std::string(step_name(step)), nlohmann::json::object());
    const std::string status = s.value("status", "");
    std::string icon = "▫️";
    if (status == "done") icon = "✅";
    if (status == "started") icon = "⏳";
    if (status == "retrying") icon = "🔁";
    if (status == "failed") icon = "❌";
    text += "\n" + icon + " " + t(lang, "master.deploy.step." + std::string(step_name(step)));
    // The pipeline's reason is English detail; the owner reads what it means for them.
    const std::string why = t(lang, deploy::failure_key(deploy::failure_of(s.value("error", ""))));
    if (status == "retrying") {
      text += " — " + t(lang, "master.deploy.retrying", {{"attempt", number(s.value("attempt", 1), lang)}, {"error", why}});
    } else if (status == "failed") {
      text += " — " + why;
    }
  }
  for (auto step : kSteps) {
    if (row.steps.value(std::string(step_name(step)), nlohmann::json::object()).value("status", "") == "failed") {
      text += "\n\n" + t(lang, "master.deploy.failed");
      break;
    }
  }
  return text;
}

void MasterBot::Impl::render_progress(ProgressRow& row) {
  auto bot = bot_context();
  if (!bot || row.message_id == 0) return;
  telegram::EditMessageText e;
  e.chat_id = row.chat_id;
  e.message_id = row.message_id;
  e.text = progress_text(row);
  if (row.finished) {
    auto kb = keyboard(row.lang);
    kb.link("🚀 " + t(row.lang, "master.deploy.open"), "https://t.me/" + row.bot_username)
        .row()
        .button("🗂 " + t(row.lang, "master.menu.my_bots"), "bots");
    e.reply_markup = built(kb);
  }
  auto edited = bot->client().call_sync(e);
  if (!edited && edited.error().description.find("not modified") == std::string::npos) {
    spdlog::warn("master bot: editing the progress of bot {}: {}", row.instance_id, edited.error().to_string());
  }
}

void MasterBot::Impl::tell_stopped(const ProgressRow& row, const deploy::Progress& p) {
  auto bot = bot_context();
  if (!bot) return;
  std::string username = row.bot_username;
  if (auto status = ctx.deployments->status(row.instance_id); status && !status->bot_username.empty())
    username = status->bot_username;
  telegram::SendMessage m;
  m.chat_id = row.chat_id;
  // The pipeline's watch says why in English words; the owner reads it in their language.
  const deploy::Failure why = deploy::failure_of(p.error);
  m.text = why == deploy::Failure::kTokenRefused
               ? t(row.lang, "master.deploy.stopped", {{"bot", "@" + username}})
               : "@" + username + ": " + t(row.lang, deploy::failure_key(why)) + "\n" + t(row.lang, "master.deploy.failed");
  auto kb = keyboard(row.lang);
  kb.button("🗂 " + t(row.lang, "master.menu.my_bots"), "bots");
  m.reply_markup = built(kb);
  if (auto sent = bot->client().call_sync(m); !sent)
    spdlog::warn("master bot: telling the owner bot {} stopped: {}", row.instance_id, sent.error().to_string());
}

void MasterBot::Impl::store_first_panel(ProgressRow& row) {
  if (!row.panel_enc || !opt.storage) return;
  auto plain = opt.secrets->decrypt(*row.panel_enc);
  auto panel = plain ? nlohmann::json::parse(*plain, nullptr, false) : nlohmann::json();
  if (!plain || !panel.is_object()) {
    spdlog::error("master bot: the first panel of bot {} cannot be read; dropped", row.instance_id);
    row.panel_enc.reset();
    return;
  }
  auto status = ctx.deployments->status(row.instance_id);
  if (!status) return;
  auto c = store.customer(status->customer_id);
  if (!c || !*c || !(*c)->tenant_id) return;  // not ready after all: the next event tries again
  auto db = opt.storage->tenant(*(*c)->tenant_id);
  if (!db) {
    spdlog::warn("master bot: tenant {} for the first panel: {}", *(*c)->tenant_id, db.error().to_string());
    return;
  }
  panels::PanelRepository repo(**db, *opt.secrets);
  panels::PanelRecord record;
  record.name = "Marzban";
  record.base_url = panel.value("url", "");
  record.username = panel.value("username", "");
  record.password = crypto::Secret(panel.value("password", ""));
  record.version = panel.value("version", "");
  auto inserted = repo.insert(record, now());
  if (!inserted && inserted.error().code != ErrorCode::kAlreadyExists) {
    spdlog::warn("master bot: the first panel of bot {} was not stored: {}", row.instance_id,
                 inserted.error().to_string());
    return;
  }
  row.panel_enc.reset();
}

Result<int> MasterBot::Impl::resume_progress() {
  if (!ctx.deployments) return 0;
  {
    std::lock_guard lock(subscribe_mutex);
    if (!progress_subscription) {
      progress_subscription = ctx.deployments->subscribe([this](const deploy::Progress& p) { on_progress(p); });
    }
  }
  auto rows = store.unfinished_progress();
  if (!rows) return fail(std::move(rows.error()));
  {
    std::lock_guard lock(progress_mutex);
    for (const auto& r : *rows) {
      deploy::Progress refresh;
      refresh.instance_id = r.instance_id;
      refresh.attempt = 0;
      progress_queue.push_back(refresh);
    }
  }
  progress_wake.notify_all();
  return static_cast<int>(rows->size());
}

}  // namespace ms::master
