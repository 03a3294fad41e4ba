// SQLite checkpoints run on the storage workers, not inside the commit that crossed the WAL
// limit; only a WAL far past the limit (the workers stuck) is checkpointed by the commit.
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "storage/storage_test_support.hpp"

namespace ms::storage {
namespace {

namespace fs = std::filesystem;

class SqliteCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    auto place = testing::Place::make(Backend::kSqlite);
    ASSERT_TRUE(place);
    place_ = std::move(*place);
    auto o = place_->options();
    o.workers = 1;  // one worker, so that the test can hold it
    auto s = Storage::open(o);
    ASSERT_TRUE(s) << s.error().to_string();
    storage_ = std::move(*s);
    ASSERT_TRUE(storage_->master().with_session(
        [](Session& s) { return s.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); }));
    master_ = place_->dir() / "master.db";
  }

  // Commits `pages` 4 KB pages' worth of rows, 100 pages per transaction.
  void write_pages(int pages) {
    const std::string row(4000, 'x');
    for (int done = 0; done < pages; done += 100) {
      ASSERT_TRUE(storage_->master().transaction([&](Session& s) -> Result<void> {
        for (int i = 0; i < 100; ++i) {
          if (auto r = s.exec("INSERT INTO filler (v) VALUES (:v)", {{"v", row}}); !r)
            return fail(std::move(r.error()));
        }
        return ok();
      }));
    }
  }

  // Holds the only storage worker until the returned promise is set.
  std::promise<void> hold_worker() {
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> holding;
    auto held = holding.get_future();
    EXPECT_TRUE(storage_->master().async(
        Access::kSession,
        [&holding, released](Session&) -> Result<void> {
          holding.set_value();
          released.wait();
          return ok();
        },
        [](Result<void>) {}));
    held.wait();
    return release;
  }

  // Polls until the file holds at least `mb` MB or 20 s passed.
  bool file_reaches(std::uintmax_t mb) const {
    for (int i = 0; i < 400 && file_mb() < mb; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return file_mb() >= mb;
  }

  std::uintmax_t file_mb() const { return fs::file_size(master_) >> 20; }

  std::unique_ptr<testing::Place> place_;
  std::unique_ptr<Storage> storage_;
  fs::path master_;
};

TEST_F(SqliteCheckpoint, CommitsPastTheLimitLeaveTheCheckpointToTheWorkers) {
  auto release = hold_worker();
  write_pages(3000);  // three times the limit
  // Nothing was copied into the file by the commits themselves: it is all in the WAL.
  EXPECT_LT(file_mb(), 2u);
  EXPECT_GT(fs::file_size(fs::path(master_.string() + "-wal")) >> 20, 10u);
  release.set_value();
  EXPECT_TRUE(file_reaches(10)) << "the worker's checkpoint never copied the WAL into the file (" << file_mb()
                                << " MB)";
}

TEST_F(SqliteCheckpoint, AWalFarPastTheLimitIsCheckpointedByTheCommit) {
  auto release = hold_worker();
  write_pages(17000);  // past the inline limit while the worker is held
  EXPECT_GE(file_mb(), 50u) << "no commit checkpointed although the workers were stuck";
  release.set_value();
}

}  // namespace
}  // namespace ms::storage
