// PanelRepository on both backends: credentials encrypted at rest, never in the clear.
#include "panels/panel_repository.hpp"

#include <fmt/format.h>

#include "core/crypto/keyring.hpp"
#include "storage/storage_test_support.hpp"

namespace ms::panels {
namespace {

using storage::Backend;
using storage::testing::StorageTest;

class PanelRepositoryContract : public StorageTest {
 protected:
  crypto::SecretBox box{crypto::Keyring(crypto::generate_key())};
};

PanelRecord sample() {
  PanelRecord p;
  p.name = "Germany 1";
  p.base_url = "https://de.example.com:8443/panel";
  p.username = "admin";
  p.password = crypto::Secret("s3cret-Pässword");
  p.tls_mode = http::TlsPolicy::Mode::kPinned;
  p.tls_pin = std::string(64, 'a');
  return p;
}

TEST_P(PanelRepositoryContract, KeepsSecretsEncrypted) {
  auto tenant = storage_->create_tenant(7);
  ASSERT_TRUE(tenant) << tenant.error().to_string();
  PanelRepository repo(**tenant, box);
  auto id = repo.insert(sample(), 100);
  ASSERT_TRUE(id) << id.error().to_string();
  ASSERT_TRUE(repo.save_token(*id, crypto::Secret("eyJtoken"), 101));

  auto raw = (*tenant)->with_session([&](storage::Session& s) {
    return s.query_one("SELECT password_enc, access_token_enc FROM panels WHERE id = :id", {{"id", *id}});
  });
  ASSERT_TRUE(raw && raw->has_value());
  std::string pw_enc = (**raw).get_string("password_enc");
  std::string token_enc = (**raw).get_string("access_token_enc");
  EXPECT_EQ(pw_enc.rfind("ms1:", 0), 0u);
  EXPECT_EQ(pw_enc.find("s3cret"), std::string::npos);
  EXPECT_EQ(token_enc.find("eyJtoken"), std::string::npos);

  auto got = repo.get(*id);
  ASSERT_TRUE(got && got->has_value()) << (got ? "" : got.error().to_string());
  EXPECT_EQ((*got)->password.reveal(), "s3cret-Pässword");
  EXPECT_EQ((*got)->access_token.reveal(), "eyJtoken");
  EXPECT_EQ((*got)->tls_mode, http::TlsPolicy::Mode::kPinned);
  EXPECT_EQ(fmt::format("{}", (*got)->password), "[redacted]") << "a password never prints";

  // New credentials drop the cached token.
  ASSERT_TRUE(repo.set_credentials(*id, "root", crypto::Secret("other"), 102));
  got = repo.get(*id);
  EXPECT_TRUE((*got)->access_token.empty());
  EXPECT_EQ((*got)->username, "root");

  // A keyring that cannot open the password says so instead of returning garbage.
  crypto::SecretBox other{crypto::Keyring(crypto::generate_key())};
  PanelRepository wrong(**tenant, other);
  auto bad = wrong.get(*id);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorrupted);
  EXPECT_EQ(bad.error().message.find("other"), std::string::npos);
}

TEST_P(PanelRepositoryContract, HealthDecidesWhereToSell) {
  auto tenant = storage_->create_tenant(8);
  ASSERT_TRUE(tenant);
  PanelRepository repo(**tenant, box);
  auto a = repo.insert(sample(), 1);
  PanelRecord b = sample();
  b.name = "Netherlands";
  b.tls_mode = http::TlsPolicy::Mode::kVerify;
  b.tls_pin.clear();
  auto bid = repo.insert(b, 1);
  ASSERT_TRUE(a && bid);
  EXPECT_EQ(repo.insert(b, 1).error().code, ErrorCode::kAlreadyExists) << "names are unique";
  PanelRecord unpinned = sample();
  unpinned.name = "bad pin";
  unpinned.tls_pin = "zz";
  EXPECT_EQ(repo.insert(unpinned, 1).error().code, ErrorCode::kInvalidArgument);

  HealthState down;
  down.up = false;
  down.last_error = PanelError{PanelErrorKind::kTimeout, 0, "no answer within 15 s", {}};
  ASSERT_TRUE(repo.record_health(*a, down, 50));
  auto ids = repo.sellable_ids();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, std::vector<std::int64_t>{*bid});
  auto got = repo.get(*a);
  EXPECT_FALSE((*got)->healthy);
  EXPECT_EQ((*got)->last_error, "timeout: no answer within 15 s");
  HealthState up;
  up.version = "0.7.0";
  ASSERT_TRUE(repo.record_health(*a, up, 60));
  EXPECT_EQ(repo.sellable_ids()->size(), 2u);
  EXPECT_EQ((*repo.get(*a))->version, "0.7.0");
  EXPECT_EQ(repo.list()->size(), 2u);
  EXPECT_EQ(repo.record_health(999, up, 1).error().code, ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, PanelRepositoryContract, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage::testing::backend_name);

}  // namespace
}  // namespace ms::panels
