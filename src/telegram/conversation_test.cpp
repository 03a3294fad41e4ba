// The conversation store contract, on memory, SQLite and PostgreSQL, in the master database
// (the master bot) and a tenant database (a shop bot).
#include "telegram/conversation.hpp"

#include <gtest/gtest.h>

#include "storage/storage_test_support.hpp"

namespace ms::telegram {
namespace {

using storage::Backend;

void check_contract(ConversationStore& store) {
  EXPECT_FALSE(store.load(1, 100).value());
  Conversation c{"awaiting_receipt", {{"order", 42}, {"note", "رسید کارت"}}, 1'000};
  ASSERT_TRUE(store.save(1, 100, c));
  EXPECT_EQ(store.load(1, 100).value(), c);
  EXPECT_FALSE(store.load(2, 100).value()) << "another bot's person is another conversation";
  c.state = "awaiting_code";
  c.expires_at = 2'000;
  ASSERT_TRUE(store.save(1, 100, c));  // replaced, not added
  EXPECT_EQ(store.load(1, 100).value()->state, "awaiting_code");
  ASSERT_TRUE(store.save(1, 101, Conversation{"menu", nlohmann::json::object(), std::nullopt}));
  ASSERT_TRUE(store.save(1, 102, Conversation{"buy", nlohmann::json::object(), 500}));
  ASSERT_TRUE(store.save(2, 103, Conversation{"buy", nlohmann::json::object(), 500}));

  auto expired = store.take_expired(1, 1'500, 10);
  ASSERT_TRUE(expired) << expired.error().to_string();
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].first, 102);
  EXPECT_EQ((*expired)[0].second.state, "buy");
  EXPECT_FALSE(store.load(1, 102).value());
  EXPECT_TRUE(store.load(2, 103).value()) << "a sweep of one bot leaves the others";
  EXPECT_TRUE(store.take_expired(1, 1'500, 10)->empty());
  EXPECT_EQ(store.take_expired(1, 5'000, 10)->size(), 1u);  // 100; 101 has no deadline
  EXPECT_TRUE(store.load(1, 101).value());
  ASSERT_TRUE(store.erase(1, 101));
  EXPECT_FALSE(store.load(1, 101).value());
}

TEST(ConversationStore, Memory) {
  auto store = make_memory_conversation_store();
  check_contract(*store);
}

class ConversationContract : public storage::testing::StorageTest {};

TEST_P(ConversationContract, MasterDatabase) {
  auto store = make_database_conversation_store(storage_->master());
  check_contract(*store);
}

TEST_P(ConversationContract, TenantDatabaseSurvivesReopening) {
  auto tenant = storage_->create_tenant(77);
  ASSERT_TRUE(tenant) << tenant.error().to_string();
  check_contract(*make_database_conversation_store(**tenant));
  ASSERT_TRUE(make_database_conversation_store(**tenant)->save(9, 900, Conversation{"step2", {{"plan", 3}}, 99}));
  tenant->reset();
  storage_.reset();  // a restart: everything closed, opened again
  storage_ = open_storage(*place_);
  ASSERT_TRUE(storage_);
  auto again = storage_->tenant(77);
  ASSERT_TRUE(again);
  auto loaded = make_database_conversation_store(**again)->load(9, 900);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->state, "step2");
  EXPECT_EQ((*loaded)->data["plan"], 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConversationContract, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::telegram
