#include "bots/shop/host.hpp"

#include <spdlog/spdlog.h>

#include "core/crypto/primitives.hpp"
#include "bots/shop/settings.hpp"

namespace ms::shop {

std::string callback_key_for(std::string_view token) { return crypto::hmac_sha256_hex(token, "shop-callback-v1"); }

ShopHost::ShopHost(storage::Storage& storage, payments::PaymentRegistry& payments, const crypto::SecretBox& secrets,
                   http::HttpClient& panels_http, telegram::BotRuntime& runtime, const Clock& clock,
                   ShopHostOptions options)
    : storage_(storage),
      payments_(payments),
      secrets_(secrets),
      panels_http_(panels_http),
      runtime_(runtime),
      clock_(clock),
      options_(options),
      thread_([this] { loop(); }) {}

ShopHost::~ShopHost() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [id, entry] : shops_) (void)runtime_.remove(id);
  shops_.clear();
}

Result<void> ShopHost::start(const HostedShop& spec) {
  auto db = storage_.tenant(spec.tenant_id);
  if (!db) return fail(std::move(db.error()));
  auto payments = payments_.service(payments::PaymentRegistry::account_of(spec.tenant_id));
  if (!payments) return fail(ErrorCode::kNotFound, "no payment service for tenant " + std::to_string(spec.tenant_id));
  // A new shop's owner is its first admin.
  auto settings = load_settings(**db);
  if (!settings) return fail(std::move(settings.error()));
  if (settings->admins.empty() && spec.owner_telegram_id != 0) {
    settings->admins.push_back({spec.owner_telegram_id, AdminRole::kOwner});
    if (auto saved = save_setting(**db, *settings, "admins", clock_.unix_seconds()); !saved) return saved;
  }
  ShopDeps deps;
  deps.tenant_id = spec.tenant_id;
  deps.db = *db;
  deps.payments = payments;
  deps.secrets = &secrets_;
  deps.http = &panels_http_;
  deps.runtime = &runtime_;
  deps.bot_key = spec.instance_id;
  deps.bot_username = spec.bot_username;
  deps.callback_key = callback_key_for(spec.token);
  deps.clock = &clock_;
  // New payment settings need a new PaymentService: the host's thread rebuilds the shop
  // (not the handler that changed them, which is still running in it).
  deps.on_payment_methods_changed = [this, id = spec.instance_id] {
    {
      std::lock_guard lock(mu_);
      reload_.insert(id);
    }
    wake_.notify_all();
  };
  deps.storage = &storage_;
  auto bot = ShopBot::create(deps);
  if (!bot) return fail(std::move(bot.error()));
  {
    std::lock_guard lock(mu_);
    if (shops_.count(spec.instance_id)) {
      auto restarted = runtime_.restart(spec.instance_id, spec.token, *bot);
      if (!restarted) return restarted;
    } else {
      auto added = runtime_.add({spec.instance_id, spec.token, spec.intake, spec.webhook_secret, *bot});
      if (!added) return added;
    }
    shops_[spec.instance_id] = Entry{spec, *db, *bot};
  }
  if (spec.bot_username.empty()) {
    // The username is only for referral links; ask Telegram once the bot runs.
    if (auto ctx = runtime_.context(spec.instance_id)) {
      auto me = ctx->client().call_sync(telegram::GetMe{});
      if (me && me->username) (*bot)->set_username(*me->username);
    }
  }
  if (auto resumed = (*bot)->resume(); !resumed) {
    spdlog::warn("shop {}: resuming orders: {}", spec.instance_id, resumed.error().to_string());
  }
  spdlog::info("shop {} (tenant {}) is running", spec.instance_id, spec.tenant_id);
  return ok();
}

Result<void> ShopHost::stop(std::int64_t instance_id) {
  std::lock_guard lock(mu_);
  auto it = shops_.find(instance_id);
  if (it == shops_.end()) return fail(ErrorCode::kNotFound, "shop " + std::to_string(instance_id) + " is not hosted");
  auto removed = runtime_.remove(instance_id);
  shops_.erase(it);
  return removed;
}

std::vector<std::int64_t> ShopHost::hosted() const {
  std::lock_guard lock(mu_);
  std::vector<std::int64_t> out;
  for (const auto& [id, entry] : shops_) out.push_back(id);
  return out;
}

std::shared_ptr<ShopBot> ShopHost::shop(std::int64_t instance_id) const {
  std::lock_guard lock(mu_);
  auto it = shops_.find(instance_id);
  return it == shops_.end() ? nullptr : it->second.bot;
}

void ShopHost::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.maintenance_every, [this] { return stopping_ || !reload_.empty(); });
    if (stopping_) return;
    if (!reload_.empty()) {
      std::vector<HostedShop> again;
      for (auto id : reload_) {
        if (auto it = shops_.find(id); it != shops_.end()) again.push_back(it->second.spec);
      }
      reload_.clear();
      lock.unlock();
      for (const auto& spec : again) {
        payments_.invalidate(spec.tenant_id);
        if (auto restarted = start(spec); !restarted)
          spdlog::warn("shop {}: rebuilding after new payment settings: {}", spec.instance_id,
                       restarted.error().to_string());
      }
      lock.lock();
      continue;
    }
    std::vector<std::pair<std::int64_t, std::shared_ptr<ShopBot>>> due;
    for (const auto& [id, entry] : shops_) due.emplace_back(id, entry.bot);
    lock.unlock();
    for (const auto& [id, bot] : due) {
      auto report = bot->maintain();
      if (!report) spdlog::warn("shop {}: maintenance: {}", id, report.error().to_string());
    }
    lock.lock();
  }
}

}  // namespace ms::shop
