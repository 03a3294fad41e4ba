// Storage contract, part 1: sessions, transactions, errors, async, migrations.
// Every test runs on SQLite and on PostgreSQL.
#include <future>
#include <thread>

#include "core/worker_pool.hpp"
#include "storage/migrations/migrations.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::storage {
namespace {

using testing::add_user;
using testing::StorageTest;

class SessionContract : public StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    auto t = storage_->create_tenant(1);
    ASSERT_TRUE(t) << t.error().to_string();
    db_ = *t;
  }
  std::shared_ptr<Database> db_;
};

TEST_P(SessionContract, CrudThroughSession) {
  auto r = db_->with_session([](Session& s) -> Result<void> {
    auto id = s.query_one(
        "INSERT INTO users (telegram_id, username, balance_minor, created_at, updated_at) "
        "VALUES (:tg, :name, :b, 10, 10) RETURNING id",
        {{"tg", std::int64_t{9'000'000'000'123}}, {"name", std::string("ali")}, {"b", std::int64_t{500}}});
    EXPECT_TRUE(id && *id) << (id ? "" : id.error().to_string());
    const std::int64_t uid = (**id).get_int("id");

    auto row = s.query_one(
        "SELECT telegram_id, username, balance_minor, referrer_id, campaign FROM users WHERE id = :id", {{"id", uid}});
    EXPECT_TRUE(row && *row);
    EXPECT_EQ((**row).get_int("telegram_id"), 9'000'000'000'123);  // beyond 32 bits
    EXPECT_EQ((**row).get_string("USERNAME"), "ali");              // names match case-insensitively
    EXPECT_EQ((**row).get_int("balance_minor"), 500);
    EXPECT_TRUE((**row).is_null("referrer_id"));
    EXPECT_EQ((**row).opt_string("campaign"), std::nullopt);

    auto updated = s.exec("UPDATE users SET campaign = :c, balance_minor = balance_minor + 1 WHERE id = :id",
                          {{"c", std::string("spring")}, {"id", uid}});
    EXPECT_EQ(updated.value_or(-1), 1);
    auto none = s.exec("UPDATE users SET campaign = :c WHERE id = :id", {{"c", Value{}}, {"id", uid + 100}});
    EXPECT_EQ(none.value_or(-1), 0);

    auto count = s.query_one("SELECT COUNT(*) AS n, SUM(balance_minor) AS total FROM users");
    EXPECT_EQ((**count).get_int("n"), 1);
    EXPECT_EQ((**count).get_int("total"), 501);

    auto missing = s.query_one("SELECT id FROM users WHERE id = :id", {{"id", uid + 100}});
    EXPECT_TRUE(missing && !*missing);

    auto deleted = s.exec("DELETE FROM users WHERE id = :id", {{"id", uid}});
    EXPECT_EQ(deleted.value_or(-1), 1);
    auto rows = s.query("SELECT id FROM users");
    EXPECT_TRUE(rows && rows->empty());
    return ok();
  });
  ASSERT_TRUE(r) << r.error().to_string();
}

TEST_P(SessionContract, QueryOneRejectsSeveralRows) {
  ASSERT_TRUE(add_user(*db_, 1));
  ASSERT_TRUE(add_user(*db_, 2));
  auto r = db_->with_session([](Session& s) { return s.query_one("SELECT id FROM users"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST_P(SessionContract, TransactionCommitsOnValueAndRollsBackOnErrorOrThrow) {
  auto insert = [](std::int64_t tg) {
    return [tg](Session& s) -> Result<std::int64_t> {
      auto r = s.exec("INSERT INTO users (telegram_id, created_at, updated_at) VALUES (:tg, 1, 1)", {{"tg", tg}});
      if (!r) return fail(std::move(r.error()));
      return tg;
    };
  };
  auto committed = db_->transaction(insert(100));
  ASSERT_TRUE(committed);
  EXPECT_EQ(*committed, 100);

  auto failed = db_->transaction([&](Session& s) -> Result<void> {
    EXPECT_TRUE(insert(200)(s));
    return fail(ErrorCode::kNotFound, "caller gave up");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kNotFound);

  EXPECT_THROW(db_->transaction([&](Session& s) -> Result<void> {
    EXPECT_TRUE(insert(300)(s));
    throw std::runtime_error("broken invariant");
  }),
               std::runtime_error);

  auto seen =
      db_->with_session([](Session& s) { return s.query("SELECT telegram_id FROM users ORDER BY telegram_id"); });
  ASSERT_TRUE(seen);
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].get_int("telegram_id"), 100);

  // The connection that saw the exception is usable again.
  auto after = db_->transaction(insert(400));
  EXPECT_TRUE(after) << after.error().to_string();
}

TEST_P(SessionContract, ConcurrentTransactionsGiveExactTotal) {
  auto uid = add_user(*db_, 7);
  ASSERT_TRUE(uid);
  constexpr int kThreads = 4;
  constexpr int kEach = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto r = db_->transaction([&](Session& s) -> Result<void> {
          auto row = s.query_one("SELECT balance_minor FROM users WHERE id = :id", {{"id", *uid}});
          if (!row) return fail(std::move(row.error()));
          auto u = s.exec("UPDATE users SET balance_minor = balance_minor + 1 WHERE id = :id", {{"id", *uid}});
          if (!u) return fail(std::move(u.error()));
          return ok();
        });
        if (!r) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto total = db_->with_session([&](Session& s) { return s.query_one("SELECT balance_minor FROM users"); });
  ASSERT_TRUE(total && *total);
  EXPECT_EQ((**total).get_int("balance_minor"), kThreads * kEach);
}

TEST_P(SessionContract, ConstraintViolationsAreErrorValues) {
  auto uid = add_user(*db_, 42, 10);
  ASSERT_TRUE(uid);

  auto dup = add_user(*db_, 42);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists) << dup.error().to_string();

  auto fk = db_->with_session([](Session& s) {
    return s.exec(
        "INSERT INTO orders (user_id, amount_minor, currency, created_at, updated_at) "
        "VALUES (:u, 5, 'IRR', 1, 1)",
        {{"u", std::int64_t{9999}}});
  });
  ASSERT_FALSE(fk);
  EXPECT_EQ(fk.error().code, ErrorCode::kInvalidArgument) << fk.error().to_string();

  auto negative = db_->with_session([&](Session& s) {
    return s.exec("UPDATE users SET balance_minor = balance_minor - 11 WHERE id = :id", {{"id", *uid}});
  });
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(negative.error().message.find("balance_minor"), std::string::npos) << negative.error().message;

  auto not_null = db_->with_session([](Session& s) {
    return s.exec("INSERT INTO users (telegram_id, created_at, updated_at) VALUES (:tg, 1, 1)", {{"tg", Value{}}});
  });
  ASSERT_FALSE(not_null);
  EXPECT_EQ(not_null.error().code, ErrorCode::kInvalidArgument);

  // A secret in a parameter never reaches the message.
  const std::string secret = "sk_live_do_not_log_4242";
  auto first = db_->with_session([&](Session& s) {
    return s.exec("INSERT INTO payment_methods (provider, secret_enc, updated_at) VALUES (:p, :s, 1)",
                  {{"p", secret}, {"s", secret}});
  });
  ASSERT_TRUE(first);
  auto again = db_->with_session([&](Session& s) {
    return s.exec("INSERT INTO payment_methods (provider, secret_enc, updated_at) VALUES (:p, :s, 1)",
                  {{"p", secret}, {"s", secret}});
  });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message.find(secret), std::string::npos) << again.error().message;

  auto bad_sql = db_->with_session([](Session& s) { return s.exec("UPDATE no_such_table SET x = 1"); });
  ASSERT_FALSE(bad_sql);
  EXPECT_EQ(bad_sql.error().code, ErrorCode::kInternal);
}

TEST_P(SessionContract, LedgerCreditAppliesOnce) {
  auto uid = add_user(*db_, 5);
  ASSERT_TRUE(uid);
  auto credit = [&](const Value& ref) {
    return db_->transaction([&](Session& s) -> Result<void> {
      auto l = s.exec(
          "INSERT INTO wallet_ledger (user_id, delta_minor, currency, balance_after_minor, reason, ref, created_at) "
          "VALUES (:u, 1000, 'IRR', 1000, 'topup', :ref, 1)",
          {{"u", *uid}, {"ref", ref}});
      if (!l) return fail(std::move(l.error()));
      auto b = s.exec("UPDATE users SET balance_minor = balance_minor + 1000 WHERE id = :u", {{"u", *uid}});
      if (!b) return fail(std::move(b.error()));
      return ok();
    });
  };
  ASSERT_TRUE(credit(std::string("payment-77")));
  auto twice = credit(std::string("payment-77"));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);
  // Entries without a reference are not deduplicated.
  ASSERT_TRUE(credit(Value{}));
  ASSERT_TRUE(credit(Value{}));
  auto balance = db_->with_session([&](Session& s) { return s.query_one("SELECT balance_minor FROM users"); });
  ASSERT_TRUE(balance && *balance);
  EXPECT_EQ((**balance).get_int("balance_minor"), 3000);
}

TEST_P(SessionContract, AsyncDeliversOnAWorkerThread) {
  const auto caller = std::this_thread::get_id();
  std::promise<std::pair<Result<std::int64_t>, std::thread::id>> done;
  std::thread::id ran_on;
  auto queued = db_->async(
      Access::kTransaction,
      [&](Session& s) -> Result<std::int64_t> {
        ran_on = std::this_thread::get_id();
        auto row =
            s.query_one("INSERT INTO users (telegram_id, created_at, updated_at) VALUES (:tg, 1, 1) RETURNING id",
                        {{"tg", std::int64_t{77}}});
        if (!row) return fail(std::move(row.error()));
        return (**row).get_int("id");
      },
      [&](Result<std::int64_t> r) {
        done.set_value({std::move(r), std::this_thread::get_id()});
      });
  ASSERT_TRUE(queued);
  auto [result, delivered_on] = done.get_future().get();
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_GT(*result, 0);
  EXPECT_NE(delivered_on, caller);
  EXPECT_EQ(delivered_on, ran_on);

  std::promise<Result<void>> failed;
  ASSERT_TRUE(db_->async(
      Access::kSession, [](Session&) -> Result<void> { throw std::runtime_error("boom"); },
      [&](Result<void> r) { failed.set_value(std::move(r)); }));
  auto r = failed.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST_P(SessionContract, PingAnswers) { EXPECT_TRUE(storage_->master().ping()); }

class MigrationContract : public StorageTest {};

TEST_P(MigrationContract, FreshThenIdempotent) {
  auto again = storage_->migrate();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->master_version, Storage::latest_version(DatabaseKind::kMaster));

  ASSERT_TRUE(storage_->create_tenant(3));
  auto with_tenant = storage_->migrate();
  ASSERT_TRUE(with_tenant);
  EXPECT_EQ(with_tenant->applied, 0);  // create_tenant already migrated it
  EXPECT_EQ(with_tenant->tenants, 1);
  EXPECT_TRUE(with_tenant->tenant_failures.empty());

  auto applied = storage_->master().with_session(
      [](Session& s) { return s.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version"); });
  ASSERT_TRUE(applied);
  ASSERT_EQ(applied->size(), migrations::master().size());
  EXPECT_EQ((*applied)[0].get_string("checksum"), migrations::checksum(migrations::master()[0].sql));
}

TEST_P(MigrationContract, ChangedChecksumIsCorruption) {
  ASSERT_TRUE(storage_->master().with_session(
      [](Session& s) { return s.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1"); }));
  auto r = storage_->migrate();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupted);
  EXPECT_NE(r.error().message.find("migration 1"), std::string::npos) << r.error().message;
}

TEST_P(MigrationContract, TenantProblemIsReportedAlone) {
  auto a = storage_->create_tenant(1);
  ASSERT_TRUE(a);
  ASSERT_TRUE(storage_->create_tenant(2));
  ASSERT_TRUE((*a)->with_session(
      [](Session& s) { return s.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1"); }));
  auto r = storage_->migrate();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->tenants, 1);
  ASSERT_EQ(r->tenant_failures.size(), 1u);
  EXPECT_EQ(r->tenant_failures[0].first, 1);
  EXPECT_EQ(r->tenant_failures[0].second.code, ErrorCode::kCorrupted);
}

TEST_P(MigrationContract, NewerDatabaseIsRefused) {
  ASSERT_TRUE(storage_->master().with_session([](Session& s) {
    return s.exec("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 1)");
  }));
  auto r = storage_->migrate();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionContract, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, MigrationContract, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::backend_name);

TEST(Migrations, RenderSubstitutesAndSplits) {
  auto sqlite = migrations::render("CREATE TABLE a (id {{pk}});\nCREATE TABLE b (x BIGINT);\n", Backend::kSqlite);
  ASSERT_EQ(sqlite.size(), 2u);
  EXPECT_NE(sqlite[0].find("INTEGER PRIMARY KEY AUTOINCREMENT"), std::string::npos);
  auto pg = migrations::render("CREATE TABLE a (id {{pk}})", Backend::kPostgres);
  ASSERT_EQ(pg.size(), 1u);
  EXPECT_NE(pg[0].find("BIGSERIAL PRIMARY KEY"), std::string::npos);
}

TEST(Migrations, RenderKeepsBackendOnlyStatementsForTheirBackend) {
  const char* sql =
      "CREATE TABLE a (x BIGINT);\n{{sqlite}} PRAGMA defer_foreign_keys = ON;\n"
      "{{postgres}} DROP TABLE b CASCADE;\nDROP TABLE c";
  EXPECT_EQ(
      migrations::render(sql, Backend::kSqlite),
      (std::vector<std::string>{"CREATE TABLE a (x BIGINT)", "\n PRAGMA defer_foreign_keys = ON", "\nDROP TABLE c"}));
  EXPECT_EQ(migrations::render(sql, Backend::kPostgres),
            (std::vector<std::string>{"CREATE TABLE a (x BIGINT)", "\n DROP TABLE b CASCADE", "\nDROP TABLE c"}));
}

TEST(Migrations, ChecksumIsSha256) {
  // FIPS 180-2 test vector
  EXPECT_EQ(migrations::checksum("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Migrations, VersionsAreDenseAndOrdered) {
  for (const auto* list : {&migrations::master(), &migrations::tenant()}) {
    for (std::size_t i = 0; i < list->size(); ++i) EXPECT_EQ((*list)[i].version, static_cast<int>(i) + 1);
  }
}

}  // namespace
}  // namespace ms::storage
