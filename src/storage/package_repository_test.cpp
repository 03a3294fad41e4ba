// PackageRepository on both backends: packages are operator-editable data.
#include "storage/package_repository.hpp"

#include "storage/storage_test_support.hpp"

namespace ms::storage {
namespace {

using testing::StorageTest;

class PackageContract : public StorageTest {};

TEST_P(PackageContract, SeedsTheDefaultsOnce) {
  PackageRepository repo(storage_->master());
  auto seeded = repo.seed_defaults(100);
  ASSERT_TRUE(seeded) << seeded.error().to_string();
  EXPECT_TRUE(*seeded);
  auto again = repo.seed_defaults(200);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto list = repo.list();
  ASSERT_TRUE(list) << list.error().to_string();
  EXPECT_EQ(*list, domain::default_packages());
}

TEST_P(PackageContract, OperatorEditsAreTheTruth) {
  PackageRepository repo(storage_->master());
  ASSERT_TRUE(repo.seed_defaults(100));
  auto packages = domain::default_packages();
  packages[0].limits.users_with_service = 150;
  packages[0].monthly_price.minor = 4500;
  packages[0].yearly_price.minor = 45000;
  packages[1].active = false;
  domain::Package custom = packages[2];
  custom.code = "reseller";
  custom.name_en = "Reseller";
  custom.name_fa = "نماینده";
  custom.limits.shop_bots = 10;
  packages.push_back(custom);
  auto written = repo.upsert_all(packages, 300);
  ASSERT_TRUE(written) << written.error().to_string();
  EXPECT_EQ(*written, 4u);

  auto starter = repo.get("starter");
  ASSERT_TRUE(starter && starter->has_value());
  EXPECT_EQ((*starter)->limits.users_with_service, 150);
  EXPECT_EQ((*starter)->monthly_price, (Money{4500, Currency::kUsd}));
  auto check = domain::check_limit(**starter, domain::LimitKind::kUsersWithService, 150);
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, ErrorCode::kLimitExceeded);
  EXPECT_TRUE(domain::check_limit(**starter, domain::LimitKind::kUsersWithService, 149));

  auto list = repo.list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ(list->back().code, "reseller");
  EXPECT_FALSE((*list)[1].active);
  EXPECT_EQ(list->back().name_fa, "نماینده");
  EXPECT_FALSE(repo.get("nothing")->has_value());
}

TEST_P(PackageContract, AnInvalidPackageChangesNothing) {
  PackageRepository repo(storage_->master());
  ASSERT_TRUE(repo.seed_defaults(100));
  auto packages = domain::default_packages();
  packages[0].limits.panels = 7;
  packages[2].limits.panels = -1;  // invalid: the whole edit is refused
  auto written = repo.upsert_all(packages, 300);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::kInvalidArgument);
  auto starter = repo.get("starter");
  ASSERT_TRUE(starter && starter->has_value());
  EXPECT_EQ((*starter)->limits.panels, domain::default_packages()[0].limits.panels);
}

INSTANTIATE_TEST_SUITE_P(Backends, PackageContract, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::backend_name);

}  // namespace
}  // namespace ms::storage
