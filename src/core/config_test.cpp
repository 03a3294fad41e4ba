#include "core/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "core/log.hpp"

namespace ms {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/ms_config_test_XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(name) << text;
  return name;
}

TEST(Config, DefaultsAreTheDocumentedOnes) {
  auto c = load_config(std::nullopt, env_of({}));
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->data_dir, "./data");
  EXPECT_EQ(c->http_listen, "127.0.0.1:8080");
  EXPECT_EQ(c->telegram_api_url, "https://api.telegram.org");
  EXPECT_TRUE(c->sandbox_mode());
  EXPECT_EQ(c->deploy_backend, DeployBackend::kInprocess);
  EXPECT_EQ(c->effective_database_url(), "sqlite://./data/master.db");
  EXPECT_EQ(c->effective_secret_key_file(), "./data/secret.key");
}

TEST(Config, EnvironmentOverridesEveryContractKey) {
  auto c = load_config(std::nullopt, env_of({
                                         {"MOTHERSHIP_DATA_DIR", "/srv/ms"},
                                         {"MOTHERSHIP_DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/ms"},
                                         {"MOTHERSHIP_REDIS_URL", "redis://127.0.0.1:6379"},
                                         {"MOTHERSHIP_HTTP_LISTEN", "[::1]:9090"},
                                         {"MOTHERSHIP_PUBLIC_URL", "https://ms.example"},
                                         {"MOTHERSHIP_TELEGRAM_API_URL", "http://127.0.0.1:8081"},
                                         {"MOTHERSHIP_MASTER_BOT_TOKEN", "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"},
                                         {"MOTHERSHIP_OPERATOR_IDS", "111, 222,333"},
                                         {"MOTHERSHIP_SECRET_KEY_FILE", "/srv/key"},
                                         {"MOTHERSHIP_DEPLOY_BACKEND", "docker"},
                                         {"MOTHERSHIP_LOG_FORMAT", "json"},
                                         {"MOTHERSHIP_LOG_LEVEL", "debug"},
                                     }));
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->data_dir, "/srv/ms");
  EXPECT_EQ(c->database_url, "postgresql://u:p@127.0.0.1:5432/ms");
  EXPECT_EQ(c->http_listen, "[::1]:9090");
  EXPECT_FALSE(c->sandbox_mode());
  EXPECT_EQ(c->operator_ids, (std::vector<std::int64_t>{111, 222, 333}));
  EXPECT_EQ(c->deploy_backend, DeployBackend::kDocker);
  EXPECT_EQ(c->log_format, LogFormat::kJson);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->effective_secret_key_file(), "/srv/key");
  // Secrets never appear in describe().
  for (const auto& [k, v] : c->describe()) {
    EXPECT_EQ(v.find("ABCdef"), std::string::npos) << k;
    EXPECT_EQ(v.find(":p@"), std::string::npos) << k;
  }
}

TEST(Config, BadValueNamesTheKeyAndWhatIsAllowed) {
  auto c = load_config(std::nullopt, env_of({{"MOTHERSHIP_LOG_LEVEL", "loud"}}));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().key, "MOTHERSHIP_LOG_LEVEL");
  EXPECT_NE(c.error().message.find("trace, debug, info, warn, error"), std::string::npos);

  c = load_config(std::nullopt, env_of({{"MOTHERSHIP_DEPLOY_BACKEND", "k8s"}}));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().key, "MOTHERSHIP_DEPLOY_BACKEND");
  EXPECT_NE(c.error().message.find("inprocess, process, docker, kubernetes"), std::string::npos);

  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"MOTHERSHIP_HTTP_LISTEN", "8080"},
           {"MOTHERSHIP_HTTP_LISTEN", "127.0.0.1:99999"},
           {"MOTHERSHIP_DATABASE_URL", "mysql://x"},
           {"MOTHERSHIP_OPERATOR_IDS", "12,abc"},
           {"MOTHERSHIP_REDIS_URL", "http://x"},
           {"MOTHERSHIP_MASTER_BOT_TOKEN", "not-a-token"},
           {"MOTHERSHIP_TELEGRAM_API_URL", "api.telegram.org"},
           {"MOTHERSHIP_LOG_FORMAT", "xml"},
       }) {
    auto r = load_config(std::nullopt, env_of({{key, value}}));
    ASSERT_FALSE(r.has_value()) << key << "=" << value;
    EXPECT_EQ(r.error().key, key);
  }
}

TEST(Config, YamlFileThenEnvironment) {
  auto path = write_temp(
      "data_dir: /var/lib/ms\n"
      "http:\n  listen: 0.0.0.0:80\n  threads: 4\n"
      "log:\n  level: warn\n"
      "operator_ids: [5, 6]\n");
  auto c = load_config(path, env_of({{"MOTHERSHIP_LOG_LEVEL", "error"}}));
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->data_dir, "/var/lib/ms");
  EXPECT_EQ(c->http_listen, "0.0.0.0:80");
  EXPECT_EQ(c->http_threads, 4);
  EXPECT_EQ(c->log_level, LogLevel::kError);  // environment wins
  EXPECT_EQ(c->operator_ids, (std::vector<std::int64_t>{5, 6}));
  std::remove(path.c_str());
}

TEST(Config, YamlFromMothershipConfigVariable) {
  auto path = write_temp("deploy:\n  backend: process\n");
  auto c = load_config(std::nullopt, env_of({{"MOTHERSHIP_CONFIG", path}}));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->deploy_backend, DeployBackend::kProcess);
  std::remove(path.c_str());
}

TEST(Config, YamlErrorsAreClear) {
  auto typo = write_temp("htttp:\n  listen: 1.2.3.4:5\n");
  auto c = load_config(typo, env_of({}));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().key, "htttp.listen");
  EXPECT_NE(c.error().message.find("not a known setting"), std::string::npos);

  auto bad = write_temp("http: [unclosed\n");
  c = load_config(bad, env_of({}));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("not valid YAML"), std::string::npos);

  c = load_config(std::string("/nonexistent/ms.yaml"), env_of({}));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().key, "MOTHERSHIP_CONFIG");
  std::remove(typo.c_str());
  std::remove(bad.c_str());
}

TEST(Config, ExampleFileLoadsAndNamesEveryKey) {
  auto c = load_config(std::string(MS_SOURCE_DIR "/config/mothership.example.yaml"), env_of({}));
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
}

TEST(Log, JsonEscape) {
  EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  EXPECT_EQ(json_escape("سلام"), "سلام");
}

TEST(Config, PrivatePanelAddressesAreRefusedUnlessTheOperatorOptsIn) {
  auto d =
      load_config(std::nullopt, env_of({{"MOTHERSHIP_MASTER_BOT_TOKEN", "123:abcdefghijklmnopqrstuvwxyz0123456789"}}));
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->effective_panels_allow_private_addresses());
  auto sandbox = load_config(std::nullopt, env_of({}));
  ASSERT_TRUE(sandbox.has_value());
  EXPECT_TRUE(sandbox->effective_panels_allow_private_addresses());  // sandbox mode
  auto on =
      load_config(std::nullopt, env_of({{"MOTHERSHIP_MASTER_BOT_TOKEN", "123:abcdefghijklmnopqrstuvwxyz0123456789"},
                                        {"MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES", "true"}}));
  ASSERT_TRUE(on.has_value()) << on.error().to_string();
  EXPECT_TRUE(on->effective_panels_allow_private_addresses());
  auto bad = load_config(std::nullopt, env_of({{"MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES", "maybe"}}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().key, "MOTHERSHIP_PANELS_ALLOW_PRIVATE_ADDRESSES");
  auto yaml = write_temp("panels:\n  allow_private_addresses: true\n");
  auto y = load_config(yaml, env_of({{"MOTHERSHIP_MASTER_BOT_TOKEN", "123:abcdefghijklmnopqrstuvwxyz0123456789"}}));
  std::remove(yaml.c_str());
  ASSERT_TRUE(y.has_value()) << y.error().to_string();
  EXPECT_TRUE(y->panels_allow_private_addresses);
}

TEST(Config, PaymentGatewayUrlsDefaultToProductionAndCanPointElsewhere) {
  auto d = load_config(std::nullopt, env_of({}));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->stripe_api_url, "https://api.stripe.com");
  EXPECT_EQ(d->paypal_api_url, "https://api-m.paypal.com");
  EXPECT_EQ(d->zarinpal_api_url, "https://payment.zarinpal.com");
  EXPECT_EQ(d->nowpayments_api_url, "https://api.nowpayments.io");
  auto c = load_config(std::nullopt, env_of({{"MOTHERSHIP_ZARINPAL_API_URL", "https://sandbox.zarinpal.com"},
                                             {"MOTHERSHIP_PAYPAL_API_URL", "http://127.0.0.1:9000"}}));
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->zarinpal_api_url, "https://sandbox.zarinpal.com");
  EXPECT_EQ(c->paypal_api_url, "http://127.0.0.1:9000");
  auto bad = load_config(std::nullopt, env_of({{"MOTHERSHIP_STRIPE_API_URL", "api.stripe.com"}}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().key, "MOTHERSHIP_STRIPE_API_URL");
  auto yaml = write_temp("payments:\n  nowpayments_api_url: https://api-sandbox.nowpayments.io\n");
  auto y = load_config(yaml, env_of({}));
  std::remove(yaml.c_str());
  ASSERT_TRUE(y.has_value()) << y.error().to_string();
  EXPECT_EQ(y->nowpayments_api_url, "https://api-sandbox.nowpayments.io");
}

}  // namespace
}  // namespace ms
