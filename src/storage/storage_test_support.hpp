// Test support for the storage contract suite: a fresh place to open a Storage in, for
// each backend. SQLite: a temp directory. PostgreSQL: a new database ms_test_<pid>_<n>
// created through MOTHERSHIP_TEST_PG_URL and dropped afterwards, so runs never collide.
// Without that variable PostgreSQL tests skip, unless MOTHERSHIP_TEST_REQUIRE_PG=1 makes
// them fail.
#pragma once

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <unistd.h>

#include "storage/pool.hpp"
#include "storage/storage.hpp"

namespace ms::storage::testing {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A scratch location for one Storage; cleaned up on destruction.
class Place {
 public:
  // Success: ready; failure: the reason (the caller skips or fails).
  static Result<std::unique_ptr<Place>> make(Backend backend) {
    static std::atomic<int> counter{0};
    const int n = counter++;
    auto place = std::unique_ptr<Place>(new Place());
    place->backend_ = backend;
    const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(n);
    if (backend == Backend::kSqlite) {
      place->dir_ = std::filesystem::temp_directory_path() / ("ms_storage_test_" + tag);
      std::filesystem::remove_all(place->dir_);
      std::filesystem::create_directories(place->dir_);
      return place;
    }
    place->admin_url_ = env("MOTHERSHIP_TEST_PG_URL");
    if (place->admin_url_.empty()) return fail(ErrorCode::kUnavailable, "MOTHERSHIP_TEST_PG_URL is not set");
    place->db_name_ = "ms_test_" + tag;
    try {
      soci::session admin(*soci::factory_postgresql(), detail::pg_conninfo(place->admin_url_).value());
      admin << "SET client_min_messages = warning";
      admin << "DROP DATABASE IF EXISTS " + place->db_name_;
      admin << "CREATE DATABASE " + place->db_name_;
    } catch (const std::exception& e) {
      return fail(ErrorCode::kUnavailable, std::string("PostgreSQL unreachable: ") + e.what());
    }
    return place;
  }

  ~Place() {
    if (backend_ == Backend::kSqlite) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    } else if (!db_name_.empty()) {
      try {
        soci::session admin(*soci::factory_postgresql(), detail::pg_conninfo(admin_url_).value());
        admin << "SET client_min_messages = warning";
        admin << "DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE)";
      } catch (const std::exception&) {
        // a leftover test database is harmless; the next run uses new names
      }
    }
  }

  StorageOptions options() const {
    StorageOptions o;
    o.pool_size = 6;
    o.workers = 2;
    if (backend_ == Backend::kSqlite) {
      o.data_dir = dir_.string();
    } else {
      // Swap the database name at the end of the admin URL.
      std::string base = admin_url_.substr(0, admin_url_.rfind('/'));
      std::string query;
      if (auto q = admin_url_.find('?', admin_url_.rfind('/')); q != std::string::npos) query = admin_url_.substr(q);
      o.url = base + "/" + db_name_ + query;
      o.data_dir = "";
    }
    return o;
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Place() = default;
  Backend backend_ = Backend::kSqlite;
  std::filesystem::path dir_;
  std::string admin_url_;
  std::string db_name_;
};

// Fixture: a migrated Storage on the backend under test.
class StorageTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto place = Place::make(GetParam());
    if (!place) {
      if (env("MOTHERSHIP_TEST_REQUIRE_PG") == "1") FAIL() << "PostgreSQL required: " << place.error().message;
      GTEST_SKIP() << "PostgreSQL tests skipped (" << place.error().message << ")";
    }
    place_ = std::move(*place);
    storage_ = open_storage(*place_);
    ASSERT_TRUE(storage_);
    auto report = storage_->migrate();
    ASSERT_TRUE(report) << report.error().to_string();
  }

  void TearDown() override {
    storage_.reset();
    extra_.clear();
    place_.reset();
  }

  static std::unique_ptr<Storage> open_storage(const Place& place) {
    auto s = Storage::open(place.options());
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? std::move(*s) : nullptr;
  }

  // A second, empty, migrated Storage (kept until the end of the test).
  Storage* fresh_storage() {
    auto place = Place::make(GetParam());
    EXPECT_TRUE(place) << place.error().to_string();
    if (!place) return nullptr;
    auto s = open_storage(**place);
    if (!s) return nullptr;
    auto m = s->migrate();
    EXPECT_TRUE(m) << m.error().to_string();
    extra_.push_back({std::move(*place), std::move(s)});
    return extra_.back().storage.get();
  }

  std::unique_ptr<Place> place_;
  std::unique_ptr<Storage> storage_;

 private:
  struct Extra {
    std::unique_ptr<Place> place;
    std::unique_ptr<Storage> storage;  // declared last: closed before its place goes
  };
  std::vector<Extra> extra_;
};

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// The column "v" of the first row `sql` gives (-1: no row); a failure fails the test.
inline std::int64_t scalar(Database& db, const std::string& sql) {
  auto v = db.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(sql);
    if (!row) return fail(std::move(row.error()));
    if (!*row) return std::int64_t{-1};
    return (*row)->get_int("v");
  });
  EXPECT_TRUE(v) << v.error().to_string();
  return v ? *v : -1;
}

// Inserts an end user into a tenant. Success: its id.
inline Result<std::int64_t> add_user(Database& db, std::int64_t telegram_id, std::int64_t balance = 0) {
  return db.with_session([&](Session& s) -> Result<std::int64_t> {
    auto row = s.query_one(
        "INSERT INTO users (telegram_id, balance_minor, created_at, updated_at) VALUES (:tg, :b, 1, 1) RETURNING id",
        {{"tg", telegram_id}, {"b", balance}});
    if (!row) return fail(std::move(row.error()));
    return (*row)->get_int("id");
  });
}

}  // namespace ms::storage::testing
