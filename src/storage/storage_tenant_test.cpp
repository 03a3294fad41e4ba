// Storage contract, part 2: tenants, export, erase, corruption, secrets, dump/restore, and
// the OrderRepository. Every test runs on SQLite and on PostgreSQL.
#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "storage/migrations/migrations.hpp"
#include "storage/order_repository.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::storage {
namespace {

using nlohmann::json;
using testing::add_user;
using testing::StorageTest;

class TenantContract : public StorageTest {};

TEST_P(TenantContract, CreateListAndIsolation) {
  auto a = storage_->create_tenant(10);
  auto b = storage_->create_tenant(20);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(add_user(**a, 555));

  auto seen_in_b = (*b)->with_session([](Session& s) { return s.query("SELECT id FROM users"); });
  ASSERT_TRUE(seen_in_b);
  EXPECT_TRUE(seen_in_b->empty());
  // B can insert the same Telegram id: the databases are separate.
  EXPECT_TRUE(add_user(**b, 555));

  auto ids = storage_->list_tenants();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::int64_t>{10, 20}));

  auto dup = storage_->create_tenant(10);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  auto missing = storage_->tenant(30);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(storage_->tenant(0).error().code, ErrorCode::kInvalidArgument);

  // A reopened storage finds the same tenants and data.
  storage_.reset();
  storage_ = open_storage(*place_);
  ASSERT_TRUE(storage_);
  auto again = storage_->tenant(10);
  ASSERT_TRUE(again) << again.error().to_string();
  auto users = (*again)->with_session([](Session& s) { return s.query_one("SELECT telegram_id FROM users"); });
  ASSERT_TRUE(users && *users);
  EXPECT_EQ((**users).get_int("telegram_id"), 555);
}

TEST_P(TenantContract, ExportHoldsEveryTable) {
  auto t = storage_->create_tenant(7);
  ASSERT_TRUE(t);
  ASSERT_TRUE(add_user(**t, 1234, 50));
  ASSERT_TRUE((*t)->with_session([](Session& s) {
    return s.exec("INSERT INTO texts (lang, key, text, updated_at) VALUES ('fa', 'welcome', :t, 1)",
                  {{"t", std::string("\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85")}});
  }));
  auto exported = storage_->export_tenant(7);
  ASSERT_TRUE(exported) << exported.error().to_string();
  const json& e = *exported;
  EXPECT_EQ(e["tenant"], 7);
  EXPECT_EQ(e["schema_version"], Storage::latest_version(DatabaseKind::kTenant));
  for (const char* table : {"users", "orders", "wallet_ledger", "services", "payments", "texts", "notices_sent"}) {
    EXPECT_TRUE(e["tables"].contains(table)) << table;
  }
  EXPECT_FALSE(e["tables"].contains("schema_migrations"));
  ASSERT_EQ(e["tables"]["users"].size(), 1u);
  EXPECT_EQ(e["tables"]["users"][0]["telegram_id"], 1234);
  EXPECT_EQ(e["tables"]["users"][0]["balance_minor"], 50);
  EXPECT_TRUE(e["tables"]["users"][0]["referrer_id"].is_null());
  EXPECT_EQ(e["tables"]["texts"][0]["text"], "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85");

  const std::string path = (std::filesystem::temp_directory_path() / ("ms_export_" + std::to_string(::getpid()) + "_" +
                                                                      testing::backend_name({GetParam(), 0}) + ".json"))
                               .string();
  ASSERT_TRUE(storage_->export_tenant_to_file(7, path));
  std::ifstream in(path);
  json from_file = json::parse(in);
  EXPECT_EQ(from_file, e);
  std::filesystem::remove(path);
}

TEST_P(TenantContract, EraseRemovesEverything) {
  auto t = storage_->create_tenant(5);
  ASSERT_TRUE(t);
  ASSERT_TRUE(storage_->create_tenant(6));
  ASSERT_TRUE(add_user(**t, 1));
  std::shared_ptr<Database> held = *t;

  ASSERT_TRUE(storage_->erase_tenant(5));
  EXPECT_EQ(storage_->list_tenants().value(), (std::vector<std::int64_t>{6}));
  EXPECT_EQ(storage_->tenant(5).error().code, ErrorCode::kNotFound);
  auto stale = held->with_session([](Session& s) { return s.query("SELECT id FROM users"); });
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(storage_->erase_tenant(5).error().code, ErrorCode::kNotFound);

  if (GetParam() == Backend::kSqlite) {
    EXPECT_FALSE(std::filesystem::exists(place_->dir() / "tenants" / "5.db"));
    EXPECT_TRUE(std::filesystem::exists(place_->dir() / "tenants" / "6.db"));
  } else {
    auto schemas = storage_->master().with_session([](Session& s) {
      return s.query(
          "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'tenant_%' "
          "ORDER BY schema_name");
    });
    ASSERT_TRUE(schemas);
    ASSERT_EQ(schemas->size(), 1u);
    EXPECT_EQ((*schemas)[0].get_string("schema_name"), "tenant_6");
  }
  // The id can be used again and starts empty.
  auto reborn = storage_->create_tenant(5);
  ASSERT_TRUE(reborn) << reborn.error().to_string();
  auto rows = (*reborn)->with_session([](Session& s) { return s.query("SELECT id FROM users"); });
  ASSERT_TRUE(rows);
  EXPECT_TRUE(rows->empty());
}

TEST_P(TenantContract, CorruptedTenantFailsAlone) {
  ASSERT_TRUE(storage_->create_tenant(1));
  auto good = storage_->create_tenant(2);
  ASSERT_TRUE(good);
  ASSERT_TRUE(add_user(**good, 22));
  if (GetParam() == Backend::kSqlite) {
    storage_.reset();  // close every file
    const auto bad = place_->dir() / "tenants" / "1.db";
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(bad.string() + suffix);
    std::ofstream out(bad, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 512; ++i) out << "this is not a database page ";
  } else {
    // A schema has no file to scribble on: lose it behind the storage's back instead.
    ASSERT_TRUE(storage_->master().with_session([](Session& s) { return s.exec("DROP SCHEMA tenant_1 CASCADE"); }));
    storage_.reset();
  }

  storage_ = open_storage(*place_);
  ASSERT_TRUE(storage_);
  auto broken = storage_->tenant(1);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(broken.error().message.find("tenant 1"), std::string::npos) << broken.error().message;

  auto fine = storage_->tenant(2);
  ASSERT_TRUE(fine) << fine.error().to_string();
  auto rows = (*fine)->with_session([](Session& s) { return s.query("SELECT telegram_id FROM users"); });
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 1u);

  auto report = storage_->migrate();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->tenants, 1);
  ASSERT_EQ(report->tenant_failures.size(), 1u);
  EXPECT_EQ(report->tenant_failures[0].first, 1);
}

// Fills the master and two tenants with rows in most tables.
void populate(Storage& storage) {
  ASSERT_TRUE(storage.create_tenant(1));
  ASSERT_TRUE(storage.create_tenant(2));
  auto m = storage.master().transaction([](Session& s) -> Result<void> {
    for (const char* sql : {
             "INSERT INTO customers (tenant_id, telegram_id, name, created_at, updated_at) VALUES (1, 111, 'Sara', 5, "
             "5)",
             "INSERT INTO packages (code, name_fa, name_en, monthly_price_minor, yearly_price_minor, currency, "
             "max_bots, created_at, updated_at) VALUES ('starter', 'استارتر', 'Starter', 5000, 50000, 'USD', 1, 5, 5)",
             "INSERT INTO subscriptions (customer_id, package_id, state, cycle, period_start, period_end, created_at, "
             "updated_at) VALUES (1, 1, 'active', 'monthly', 5, 2592005, 5, 5)",
             "INSERT INTO payments (customer_id, subscription_id, provider, provider_ref, amount_minor, currency, "
             "status, created_at, updated_at) VALUES (1, 1, 'stripe', 'cs_1', 5000, 'USD', 'paid', 6, 6)",
             "INSERT INTO bot_instances (customer_id, token_enc, token_hash, admin_telegram_id, webhook_secret_enc, "
             "created_at, updated_at) VALUES (1, 'enc:token', 'hash1', 111, 'enc:hook', 7, 7)",
             "INSERT INTO leases (name, holder, expires_at) VALUES ('bots/1', 'replica-a', 99)",
             "INSERT INTO audit_log (at, actor_kind, action, details) VALUES (8, 'operator', 'package.create', '{}')",
         }) {
      auto r = s.exec(sql);
      if (!r) return fail(std::move(r.error()));
    }
    return ok();
  });
  ASSERT_TRUE(m) << m.error().to_string();
  for (std::int64_t id : {1, 2}) {
    auto t = storage.tenant(id);
    ASSERT_TRUE(t);
    auto r = (*t)->transaction([id](Session& s) -> Result<void> {
      for (const char* sql : {
               "INSERT INTO users (telegram_id, balance_minor, created_at, updated_at) VALUES (1001, 700, 1, 1)",
               "INSERT INTO users (telegram_id, referrer_id, created_at, updated_at) VALUES (1002, 1, 1, 1)",
               "INSERT INTO panels (name, base_url, username, password_enc, created_at, updated_at) "
               "VALUES ('p1', 'https://panel.example', 'admin', 'enc:pw', 1, 1)",
               "INSERT INTO plans (name, panel_id, duration_days, price_minor, currency, created_at, updated_at) "
               "VALUES ('30d', 1, 30, 150000, 'IRR', 1, 1)",
               "INSERT INTO orders (user_id, plan_id, status, amount_minor, currency, created_at, updated_at) "
               "VALUES (2, 1, 'completed', 150000, 'IRR', 2, 2)",
               "INSERT INTO services (user_id, plan_id, panel_id, order_id, panel_username, status, created_at, "
               "updated_at) VALUES (2, 1, 1, 1, 'u1002', 'active', 2, 2)",
               "INSERT INTO wallet_ledger (user_id, delta_minor, currency, balance_after_minor, reason, ref, "
               "created_at) VALUES (1, 700, 'IRR', 700, 'topup', 'pay-1', 1)",
               "INSERT INTO texts (lang, key, text, updated_at) VALUES ('en', 'hi', 'Hello', 1)",
               "INSERT INTO conversation_state (bot_id, user_id, state, updated_at) VALUES (1, 1002, 'menu', 1)",
           }) {
        auto r = s.exec(sql);
        if (!r) return fail(std::move(r.error()));
      }
      auto r = s.exec("INSERT INTO settings (key, value, updated_at) VALUES ('brand', :v, 1)",
                      {{"v", "shop-" + std::to_string(id)}});
      if (!r) return fail(std::move(r.error()));
      return ok();
    });
    ASSERT_TRUE(r) << r.error().to_string();
  }
}

TEST_P(TenantContract, DumpAndRestoreRoundTrip) {
  populate(*storage_);
  if (HasFatalFailure()) return;
  auto dump = storage_->dump_all();
  ASSERT_TRUE(dump) << dump.error().to_string();
  EXPECT_EQ((*dump)["tenants"].size(), 2u);

  Storage* copy = fresh_storage();
  ASSERT_NE(copy, nullptr);
  // Through text, as a backup file would carry it.
  auto restored = copy->restore_all(json::parse(dump->dump()));
  ASSERT_TRUE(restored) << restored.error().to_string();
  auto again = copy->dump_all();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(*again, *dump);

  // Ids continue after the restored ones.
  auto t = copy->tenant(1);
  ASSERT_TRUE(t);
  auto id = add_user(**t, 3003);
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(*id, 3);

  auto twice = copy->restore_all(*dump);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kConflict);
  EXPECT_EQ(copy->restore_all(json{{"format", "other"}}).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(TenantContract, ClearAllThenRestoreBringsBackTheDump) {
  populate(*storage_);
  if (HasFatalFailure()) return;
  auto dump = storage_->dump_all();
  ASSERT_TRUE(dump) << dump.error().to_string();

  // Installation settings in meta do not make a storage "non-empty".
  auto meta = storage_->master().with_session([](Session& s) -> Result<void> {
    auto r = s.exec(
        "INSERT INTO meta (key, value, updated_at) VALUES ('installation', 'here', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!r) return fail(r.error());
    return ok();
  });
  ASSERT_TRUE(meta) << meta.error().to_string();

  auto cleared = storage_->clear_all();
  ASSERT_TRUE(cleared) << cleared.error().to_string();
  auto ids = storage_->list_tenants();
  ASSERT_TRUE(ids);
  EXPECT_TRUE(ids->empty());
  EXPECT_EQ(storage_->tenant(1).error().code, ErrorCode::kNotFound);

  auto restored = storage_->restore_all(*dump);
  ASSERT_TRUE(restored) << restored.error().to_string();
  auto again = storage_->dump_all();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *dump);
}

TEST_P(TenantContract, SecretColumnsAreRewritten) {
  populate(*storage_);
  if (HasFatalFailure()) return;
  std::set<std::string> seen;
  auto n = storage_->rewrite_secrets([&](const SecretColumn& c, const std::string& old) -> Result<std::string> {
    seen.insert(c.table + "." + c.column);
    return "v2:" + old;
  });
  ASSERT_TRUE(n) << n.error().to_string();
  // master: token + webhook secret; each tenant: the panel password
  EXPECT_EQ(*n, 4);
  EXPECT_EQ(seen, (std::set<std::string>{"bot_instances.token_enc", "bot_instances.webhook_secret_enc",
                                         "panels.password_enc"}));
  auto bot = storage_->master().with_session(
      [](Session& s) { return s.query_one("SELECT token_enc, webhook_secret_enc FROM bot_instances"); });
  ASSERT_TRUE(bot && *bot);
  EXPECT_EQ((**bot).get_string("token_enc"), "v2:enc:token");
  auto panel = (*storage_->tenant(2))->with_session([](Session& s) {
    return s.query_one("SELECT password_enc, access_token_enc FROM panels");
  });
  ASSERT_TRUE(panel && *panel);
  EXPECT_EQ((**panel).get_string("password_enc"), "v2:enc:pw");
  EXPECT_TRUE((**panel).is_null("access_token_enc"));

  // A failing rewriter changes nothing in the database it failed in.
  auto failed = storage_->rewrite_secrets([](const SecretColumn&, const std::string&) -> Result<std::string> {
    return fail(ErrorCode::kCorrupted, "wrong key");
  });
  ASSERT_FALSE(failed);
  auto unchanged =
      storage_->master().with_session([](Session& s) { return s.query_one("SELECT token_enc FROM bot_instances"); });
  EXPECT_EQ((**unchanged).get_string("token_enc"), "v2:enc:token");
}

TEST_P(TenantContract, OrderRepository) {
  auto t = storage_->create_tenant(4);
  ASSERT_TRUE(t);
  auto uid = add_user(**t, 900);
  ASSERT_TRUE(uid);
  OrderRepository orders(**t);
  Order o;
  o.user_id = *uid;
  o.amount = Money{250'000, Currency::kIrr};
  o.idempotency_key = "tg-update-1";
  o.created_at = o.updated_at = 100;
  auto first = orders.insert(o);
  ASSERT_TRUE(first) << first.error().to_string();
  auto dup = orders.insert(o);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  o.idempotency_key.reset();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(orders.insert(o));

  auto got = orders.get(*first);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((**got).amount, (Money{250'000, Currency::kIrr}));
  EXPECT_EQ((**got).idempotency_key, "tg-update-1");
  EXPECT_EQ((**got).status, "pending");
  EXPECT_FALSE((**got).plan_id);
  EXPECT_FALSE(orders.get(*first + 100).value());

  auto listed = orders.list_by_user(*uid, 2);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_GT((*listed)[0].id, (*listed)[1].id);

  ASSERT_TRUE(orders.update_status(*first, "pending", "paid", 200));
  auto stale = orders.update_status(*first, "pending", "cancelled", 201);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(orders.update_status(*first + 100, "pending", "paid", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(orders.get(*first).value()->status, "paid");
  EXPECT_EQ(orders.get(*first).value()->updated_at, 200);

  Order bad = o;
  bad.user_id = *uid + 1000;
  EXPECT_EQ(orders.insert(bad).error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, TenantContract, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::backend_name);

// Every column named *_enc in the schemas is listed as a secret, and every listed one exists.
TEST(SecretColumns, MatchTheSchemas) {
  std::set<std::string> in_schema;
  const std::regex table_re(R"(CREATE TABLE (\w+) \(([^;]*))");
  const std::regex enc_re(R"(\n\s+(\w+_enc) )");
  for (auto [kind, list] : {std::pair{DatabaseKind::kMaster, &migrations::master()},
                            std::pair{DatabaseKind::kTenant, &migrations::tenant()}}) {
    for (const auto& m : *list) {
      std::string sql(m.sql);
      for (std::sregex_iterator t(sql.begin(), sql.end(), table_re), end; t != end; ++t) {
        std::string body = (*t)[2];
        for (std::sregex_iterator c(body.begin(), body.end(), enc_re); c != end; ++c) {
          in_schema.insert(std::to_string(static_cast<int>(kind)) + ":" + (*t)[1].str() + "." + (*c)[1].str());
        }
      }
    }
  }
  std::set<std::string> listed;
  for (const auto& c : Storage::secret_columns()) {
    listed.insert(std::to_string(static_cast<int>(c.kind)) + ":" + c.table + "." + c.column);
  }
  EXPECT_EQ(listed, in_schema);
  EXPECT_EQ(listed.size(), 9u);  // master_bot_progress.panel_enc (master migration 4) is the ninth
}

}  // namespace
}  // namespace ms::storage
