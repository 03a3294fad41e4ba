// Shop bots in this process: `mothership shop create` records one (a customer, their
// tenant database, a bot instance with its token encrypted), and `serve` keeps the
// in-process shops in step with the bot_instances table (ShopReconciler). Issue 7's
// deployment pipeline and master bot create instances the same way.
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/app.hpp"
#include "app/runtime.hpp"
#include "app/shops.hpp"
#include "core/crypto/primitives.hpp"
#include "core/crypto/secret_box.hpp"
#include "domain/rules.hpp"

namespace ms::app {

using storage::Session;

ShopReconciler::ShopReconciler(storage::Storage& storage, const crypto::Keyring& keyring, shop::ShopHost& host)
    : storage_(storage), keyring_(keyring), host_(host) {}

Result<int> ShopReconciler::reconcile() {
  auto rows = storage_.master().with_session([](Session& s) {
    return s.query(
        "SELECT i.id, i.token_enc, i.bot_username, i.admin_telegram_id, c.tenant_id FROM bot_instances i JOIN "
        "customers c ON c.id = i.customer_id WHERE i.status = 'running' AND i.deploy_backend = 'inprocess' AND "
        "c.status = 'active' AND c.tenant_id IS NOT NULL");
  });
  if (!rows) return fail(std::move(rows.error()));
  std::map<std::int64_t, shop::HostedShop> wanted;
  for (const auto& r : *rows) {
    auto token = crypto::decrypt(keyring_, r.get_string("token_enc"));
    if (!token) {
      spdlog::error("shop instance {}: its token cannot be opened: {}", r.get_int("id"), token.error().message);
      continue;
    }
    shop::HostedShop s;
    s.instance_id = r.get_int("id");
    s.tenant_id = r.get_int("tenant_id");
    s.token = *token;
    s.bot_username = r.opt_string("bot_username").value_or("");
    s.owner_telegram_id = r.get_int("admin_telegram_id");
    wanted[s.instance_id] = std::move(s);
  }
  int changes = 0;
  for (auto id : host_.hosted()) {
    if (!wanted.count(id)) {
      (void)host_.stop(id);
      started_.erase(id);
      ++changes;
    }
  }
  for (auto& [id, spec] : wanted) {
    auto it = started_.find(id);
    if (it != started_.end() && it->second == spec.token) continue;
    auto started = host_.start(spec);
    if (!started) {
      spdlog::warn("shop instance {} did not start: {}", id, started.error().to_string());
      continue;
    }
    started_[id] = spec.token;
    ++changes;
  }
  return changes;
}

int shop_create(const Config& config, const ShopCreateOptions& options) {
  if (auto valid = domain::validate_bot_token(options.token); !valid) {
    std::cerr << "mothership: shop create: " << valid.error().message << "\n";
    return 2;
  }
  auto rt = open_runtime(config);
  if (!rt) return report_failure("shop create", rt.error());
  auto& master = rt->storage->master();
  const std::int64_t now = SystemClock::instance().unix_seconds();
  const std::string token_hash = crypto::sha256_hex(options.token);
  // The customer (by Telegram id) and their tenant database, made if missing.
  auto customer = master.transaction([&](Session& s) -> Result<std::pair<std::int64_t, std::optional<std::int64_t>>> {
    auto taken = s.query_one("SELECT id FROM bot_instances WHERE token_hash = :h", {{"h", token_hash}});
    if (!taken) return fail(std::move(taken.error()));
    if (*taken) return fail(ErrorCode::kAlreadyExists, "another shop already uses this bot token");
    auto found = s.query_one("SELECT id, tenant_id FROM customers WHERE telegram_id = :tg", {{"tg", options.owner}});
    if (!found) return fail(std::move(found.error()));
    if (*found) return std::pair{(*found)->get_int("id"), (*found)->opt_int("tenant_id")};
    auto made = s.query_one(
        "INSERT INTO customers (telegram_id, name, created_at, updated_at) VALUES (:tg, :name, :now, :now) RETURNING "
        "id",
        {{"tg", options.owner}, {"name", options.name}, {"now", now}});
    if (!made) return fail(std::move(made.error()));
    return std::pair{(*made)->get_int("id"), std::optional<std::int64_t>()};
  });
  if (!customer)
    return report("shop create", customer.error(), customer.error().code == ErrorCode::kAlreadyExists ? 2 : 1);
  std::int64_t tenant_id = customer->second.value_or(0);
  if (tenant_id == 0) {
    auto next = master.with_session([](Session& s) -> Result<std::int64_t> {
      auto row = s.query_one("SELECT coalesce(max(id), 0) + 1 AS n FROM tenants");
      if (!row) return fail(std::move(row.error()));
      return (*row)->get_int("n");
    });
    if (!next) return report("shop create", next.error());
    tenant_id = *next;
    if (auto made = rt->storage->create_tenant(tenant_id); !made) return report("shop create", made.error());
    auto linked = master.with_session([&](Session& s) {
      return s.exec("UPDATE customers SET tenant_id = :t, updated_at = :now WHERE id = :id",
                    {{"t", tenant_id}, {"now", now}, {"id", customer->first}});
    });
    if (!linked) return report("shop create", linked.error());
  }
  auto instance = master.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(
        "INSERT INTO bot_instances (customer_id, name, bot_username, token_enc, token_hash, admin_telegram_id, status, "
        "created_at, updated_at, deployed_at) VALUES (:c, :name, :u, :tok, :h, :admin, 'running', :now, :now, :now) "
        "RETURNING id",
        {{"c", customer->first},
         {"name", options.name},
         {"u", options.username.empty() ? storage::Value{} : storage::Value{options.username}},
         {"tok", crypto::encrypt(*rt->keyring, options.token)},
         {"h", token_hash},
         {"admin", options.owner},
         {"now", now}});
    if (!row) return fail(std::move(row.error()));
    return (*row)->get_int("id");
  });
  if (!instance) return report("shop create", instance.error());
  std::cout << "shop bot instance " << *instance << " created for tenant " << tenant_id
            << "; a running `mothership serve` starts it within seconds\n";
  return 0;
}

}  // namespace ms::app
