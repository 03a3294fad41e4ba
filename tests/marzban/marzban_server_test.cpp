// The strict Marzban test panel checked against the reference exchanges
// (../shared/reference/marzban/README.md), over real HTTP on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "marzban_server.hpp"

namespace ms::marzban_test {
namespace {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;
  std::string text;
  std::string content_type;
};

class Panel {
 public:
  explicit Panel(Options opt = {}) : server(std::move(opt)) {
    auto started = server.start();
    if (!started) throw std::runtime_error(started.error().to_string());
  }

  Result<http::ClientResponse> raw(const std::string& method, const std::string& path, const std::string& body = {},
                                   const std::string& content_type = "application/json",
                                   std::optional<http::TlsPolicy> tls = std::nullopt) {
    http::ClientRequest req;
    req.method = method;
    req.url = path.rfind("http", 0) == 0 ? path : server.base_url() + path;
    req.body = body;
    req.timeout = std::chrono::seconds(5);
    req.tls = std::move(tls);
    req.fresh_connection = true;  // a dropped connection is seen, not retried by libcurl
    if (!body.empty()) req.headers.emplace_back("Content-Type", content_type);
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    return client.send_sync(std::move(req));
  }

  Reply call(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto r = raw(method, path, body.is_null() ? std::string() : body.dump());
    EXPECT_TRUE(r) << r.error().to_string();
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.text = r->body;
    out.content_type = std::string(r->headers.get("Content-Type").value_or(""));
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  void login(const std::string& user = "admin", const std::string& password = "admin") {
    token.clear();
    auto r = raw("POST", "/api/admin/token", "username=" + user + "&password=" + password,
                 "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    token = json::parse(r->body).at("access_token");
  }

  MarzbanTestServer server;
  http::CurlClient client;
  std::string token;
};

json alice() {
  return {{"username", "alice_01"},
          {"proxies", {{"vless", json::object()}, {"vmess", json::object()}}},
          {"inbounds", {{"vless", {"VLESS TCP"}}, {"vmess", {"VMess TCP"}}}},
          {"expire", 1798251244},
          {"data_limit", 10737418240LL},
          {"data_limit_reset_strategy", "no_reset"},
          {"note", "order #42"}};
}

TEST(MarzbanServer, LoginAndTokens) {
  Panel p;
  auto wrong = p.raw("POST", "/api/admin/token", "username=admin&password=nope", "application/x-www-form-urlencoded");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(json::parse(wrong->body), (json{{"detail", "Incorrect username or password"}}));
  auto missing = p.raw("POST", "/api/admin/token", "username=admin", "application/x-www-form-urlencoded");
  EXPECT_EQ(missing->status, 422);
  EXPECT_EQ(json::parse(missing->body)["detail"]["password"], "field required");

  auto none = p.call("GET", "/api/users");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body["detail"], "Not authenticated");
  p.token = "garbage";
  EXPECT_EQ(p.call("GET", "/api/users").body["detail"], "Could not validate credentials");
  p.login();
  EXPECT_EQ(p.call("GET", "/api/users").status, 200);
  p.server.set_password("admin", "changed");
  auto stale = p.call("GET", "/api/users");
  EXPECT_EQ(stale.status, 401) << "a password change invalidates old tokens";
  p.login("admin", "changed");
  EXPECT_EQ(p.call("GET", "/api/users").status, 200);
}

TEST(MarzbanServer, CreateAnswersTheObservedShape) {
  Panel p;
  p.login();
  auto r = p.call("POST", "/api/user", alice());
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["username"], "alice_01");
  EXPECT_EQ(r.body["status"], "active");
  EXPECT_EQ(r.body["expire"], 1798251244);
  EXPECT_EQ(r.body["data_limit"], 10737418240LL);
  EXPECT_EQ(r.body["used_traffic"], 0);
  EXPECT_EQ(r.body["inbounds"]["vless"], json({"VLESS TCP"}));
  EXPECT_TRUE(r.body["proxies"]["vless"]["id"].is_string());
  EXPECT_EQ(r.body["proxies"]["vless"]["flow"], "");
  EXPECT_TRUE(r.body["sub_updated_at"].is_null());
  EXPECT_EQ(r.body["admin"]["is_sudo"], true);
  std::string created = r.body["created_at"];
  EXPECT_EQ(created.find('Z'), std::string::npos) << "naive datetime";
  EXPECT_EQ(created.find('+'), std::string::npos) << "naive datetime";
  EXPECT_EQ(created[10], 'T');
  EXPECT_EQ(r.body["subscription_url"].get<std::string>().rfind(p.server.base_url() + "/sub/", 0), 0u);
  EXPECT_FALSE(r.body.contains("next_plan")) << "0.7.0 has no next_plan";

  auto again = p.call("POST", "/api/user", alice());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, (json{{"detail", "User already exists"}}));
  EXPECT_EQ(p.server.user_count(), 1u);
}

TEST(MarzbanServer, RejectsWhatMarzbanRejects) {
  Panel p;
  p.login();
  auto with = [](std::initializer_list<std::pair<const std::string, json>> changes) {
    json b = alice();
    b["username"] = "bob_2";
    for (const auto& [k, v] : changes) b[k] = v;
    return b;
  };
  auto r = p.call("POST", "/api/user", with({{"username", "A-b"}}));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["detail"]["username"],
            "Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between.");
  r = p.call("POST", "/api/user", with({{"username", "x"}, {"data_limit", -5}}));
  EXPECT_EQ(r.status, 422);
  EXPECT_TRUE(r.body["detail"].is_object()) << "Marzban's 422 detail is an object";
  EXPECT_EQ(r.body["detail"]["data_limit"], "ensure this value is greater than or equal to 0");
  EXPECT_TRUE(r.body["detail"].contains("username"));
  r = p.call("POST", "/api/user", json{{"username", "bob_2"}});
  EXPECT_EQ(r.body, (json{{"detail", {{"proxies", "Each user needs at least one proxy"}}}}));
  r = p.call("POST", "/api/user", with({{"proxies", {{"trojan", json::object()}}}, {"inbounds", json::object()}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["detail"], "Protocol ProxyTypes.Trojan is disabled on your server");
  r = p.call("POST", "/api/user", with({{"status", "disabled"}}));
  EXPECT_EQ(r.body["detail"]["status"], "value is not a valid enumeration member; permitted: 'active', 'on_hold'");
  r = p.call("POST", "/api/user", with({{"expire", "2026-12-31T00:00:00"}}));
  EXPECT_EQ(r.body["detail"]["expire"], "value is not a valid integer");
  r = p.call("POST", "/api/user", with({{"status", "on_hold"}}));
  EXPECT_EQ(r.body["detail"]["status"], "User cannot be on hold without a valid on_hold_expire_duration.");
  r = p.call("POST", "/api/user", with({{"inbounds", {{"vless", {"VLESS GRPC"}}}}}));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["detail"]["inbounds"], "Inbound VLESS GRPC doesn't exist");
  r = p.call("POST", "/api/user", with({{"data_limit_reset_strategy", "monthly"}}));
  EXPECT_EQ(r.status, 422);
  r = p.call("POST", "/api/user", with({{"note", std::string(501, 'n')}}));
  EXPECT_EQ(r.status, 422);
  std::string persian;
  for (int i = 0; i < 500; ++i) persian += "ع";  // 500 characters, 1000 bytes: allowed
  r = p.call("POST", "/api/user", with({{"note", persian}}));
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(p.server.user_count(), 1u);
}

TEST(MarzbanServer, OnHoldTakesEveryInboundOfItsProtocol) {
  Panel p;
  p.login();
  auto r = p.call("POST", "/api/user",
                  json{{"username", "hold_user"},
                       {"status", "on_hold"},
                       {"on_hold_expire_duration", 2592000},
                       {"data_limit", 5368709120LL},
                       {"proxies", {{"vless", {{"flow", ""}}}}},
                       {"inbounds", json::object()}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_TRUE(r.body["expire"].is_null());
  EXPECT_EQ(r.body["status"], "on_hold");
  EXPECT_EQ(r.body["inbounds"], (json{{"vless", {"VLESS TCP"}}}));
}

TEST(MarzbanServer, ModifyResetRevokeDelete) {
  Panel p;
  p.login();
  ASSERT_EQ(p.call("POST", "/api/user", alice()).status, 200);
  auto r = p.call(
      "PUT", "/api/user/alice_01",
      json{{"data_limit", 21474836480LL}, {"expire", 0}, {"note", "renewed"}, {"data_limit_reset_strategy", "month"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_TRUE(r.body["expire"].is_null());
  EXPECT_EQ(r.body["data_limit_reset_strategy"], "month");
  EXPECT_EQ(r.body["inbounds"]["vmess"], json({"VMess TCP"})) << "omitted fields are unchanged";
  EXPECT_EQ(p.call("PUT", "/api/user/alice_01", json{{"status", "disabled"}}).body["status"], "disabled");
  EXPECT_EQ(p.call("PUT", "/api/user/alice_01", json{{"status", "active"}}).body["status"], "active");
  r = p.call("PUT", "/api/user/alice_01", json{{"status", "expired"}});
  EXPECT_EQ(r.body["detail"]["status"],
            "value is not a valid enumeration member; permitted: 'active', 'disabled', 'on_hold'");
  r = p.call("PUT", "/api/user/alice_01", json{{"data_limit_reset_strategy", "monthly"}});
  EXPECT_EQ(r.body["detail"]["data_limit_reset_strategy"],
            "value is not a valid enumeration member; permitted: 'no_reset', 'day', 'week', 'month', 'year'");
  EXPECT_EQ(p.call("PUT", "/api/user/nobody", json{{"note", "x"}}).status, 404);

  // Traffic over the limit makes the user limited; reset brings them back.
  ASSERT_TRUE(p.server.set_used_traffic("alice_01", 21474836480LL));
  EXPECT_EQ(p.call("GET", "/api/user/alice_01").body["status"], "limited");
  r = p.call("POST", "/api/user/alice_01/reset");
  EXPECT_EQ(r.body["used_traffic"], 0);
  EXPECT_EQ(r.body["status"], "active");

  // Every read gives another subscription URL; all work until revoke_sub.
  std::string sub1 = p.call("GET", "/api/user/alice_01").body["subscription_url"];
  std::string sub2 = p.call("GET", "/api/user/alice_01").body["subscription_url"];
  EXPECT_NE(sub1, sub2);
  EXPECT_EQ(p.raw("GET", sub1)->status, 200);
  EXPECT_EQ(p.raw("GET", sub2)->status, 200);
  std::string old_id = p.call("GET", "/api/user/alice_01").body["proxies"]["vless"]["id"];
  r = p.call("POST", "/api/user/alice_01/revoke_sub");
  EXPECT_NE(r.body["proxies"]["vless"]["id"], old_id);
  EXPECT_EQ(p.raw("GET", sub1)->status, 204) << "0.7.0 answers a revoked link with 204";
  EXPECT_EQ(p.raw("GET", r.body["subscription_url"].get<std::string>())->status, 200);

  EXPECT_EQ(p.call("DELETE", "/api/user/alice_01").body, (json{{"detail", "User successfully deleted"}}));
  EXPECT_EQ(p.call("DELETE", "/api/user/alice_01").body, (json{{"detail", "User not found"}}));
  EXPECT_EQ(p.call("GET", "/api/user/nobody").status, 404);
}

TEST(MarzbanServer, ListsWithPagingSearchAndSort) {
  Panel p;
  p.login();
  for (const char* name : {"alice_01", "hold_user", "dave", "carol"}) {
    json b = alice();
    b["username"] = name;
    ASSERT_EQ(p.call("POST", "/api/user", b).status, 200);
  }
  auto r = p.call("GET", "/api/users?offset=0&limit=2&sort=-created_at");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["total"], 4);
  ASSERT_EQ(r.body["users"].size(), 2u);
  EXPECT_EQ(r.body["users"][0]["username"], "carol");
  EXPECT_EQ(r.body["users"][1]["username"], "dave");
  r = p.call("GET", "/api/users?search=ali");
  EXPECT_EQ(r.body["total"], 1);
  r = p.call("GET", "/api/users?username=carol&username=dave&sort=username");
  EXPECT_EQ(r.body["total"], 2);
  EXPECT_EQ(r.body["users"][0]["username"], "carol");
  r = p.call("GET", "/api/users?sort=foo");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["detail"], "\"foo\" is not a valid sort option");
  EXPECT_EQ(p.call("GET", "/api/users?limit=abc").status, 422);
  EXPECT_EQ(p.call("GET", "/api/users").body["users"].size(), 4u) << "no limit = all";
}

TEST(MarzbanServer, InboundsSystemAndVersions) {
  Panel p;
  p.login();
  auto in = p.call("GET", "/api/inbounds");
  EXPECT_EQ(in.body["vmess"][0],
            (json{{"tag", "VMess TCP"}, {"protocol", "vmess"}, {"network", "tcp"}, {"tls", "none"}, {"port", 18081}}));
  EXPECT_FALSE(in.body.contains("trojan"));
  auto sys = p.call("GET", "/api/system");
  EXPECT_EQ(sys.body["version"], "0.7.0");
  EXPECT_FALSE(sys.body.contains("users_on_hold"));

  Options o;
  o.version = "0.8.4";
  Panel p8(o);
  p8.login();
  EXPECT_EQ(p8.call("GET", "/api/system").body["version"], "0.8.4");
  EXPECT_TRUE(p8.call("GET", "/api/system").body.contains("users_on_hold"));
  json b = alice();
  auto r = p8.call("POST", "/api/user", b);
  EXPECT_TRUE(r.body.contains("next_plan"));
  b["username"] = "hold_8";
  b["status"] = "on_hold";
  b["on_hold_expire_duration"] = 3600;
  EXPECT_EQ(p8.call("POST", "/api/user", b).status, 422) << "0.8 refuses on_hold with an expiry";
  std::string sub = r.body["subscription_url"];
  p8.call("POST", "/api/user/alice_01/revoke_sub");
  EXPECT_EQ(p8.raw("GET", sub)->status, 404) << "0.8 answers a revoked link with 404";
}

TEST(MarzbanServer, PathPrefixAndNonSudoAdmins) {
  Options o;
  o.path_prefix = "/secret/panel";
  Panel p(o);
  EXPECT_EQ(p.server.base_url().substr(p.server.base_url().size() - 13), "/secret/panel");
  p.login();
  ASSERT_EQ(p.call("POST", "/api/user", alice()).status, 200);
  auto outside = p.raw("GET", "http://127.0.0.1:" + std::to_string(p.server.port()) + "/api/system");
  EXPECT_EQ(outside->status, 404);
  EXPECT_NE(outside->body.find("<html>"), std::string::npos) << "outside the prefix the web server answers";
  EXPECT_EQ(p.call("GET", "/api/nope").body, (json{{"detail", "Not Found"}}));

  p.server.add_admin("reseller", "pw", false);
  p.login("reseller", "pw");
  EXPECT_EQ(p.call("GET", "/api/user/alice_01").status, 403);
  EXPECT_EQ(p.call("GET", "/api/users").body["total"], 0);
  EXPECT_EQ(p.call("GET", "/api/nodes").status, 403);
  json b = alice();
  b["username"] = "mine_1";
  EXPECT_EQ(p.call("POST", "/api/user", b).status, 200);
  EXPECT_EQ(p.call("GET", "/api/users").body["total"], 1);
}

TEST(MarzbanServer, Faults) {
  Panel p;
  p.login();
  p.server.add_fault({"GET", "/api/system", Fault::Kind::kStatus, 500});
  auto r = p.raw("GET", "/api/system");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "Internal Server Error");
  EXPECT_EQ(p.raw("GET", "/api/system")->status, 200) << "a fault hits `times` requests";

  p.server.add_fault({"GET", "/api/system", Fault::Kind::kDrop});
  r = p.raw("GET", "/api/system");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);

  // The create happens, the answer is lost.
  p.server.add_fault({"POST", "/api/user", Fault::Kind::kApplyDrop});
  EXPECT_FALSE(p.raw("POST", "/api/user", alice().dump()));
  EXPECT_TRUE(p.server.has_user("alice_01"));

  p.server.add_fault({"GET", "/api/user/*", Fault::Kind::kDelay, 0, std::chrono::milliseconds(1500)});
  http::ClientRequest slow;
  slow.url = p.server.base_url() + "/api/user/alice_01";
  slow.headers.emplace_back("Authorization", "Bearer " + p.token);
  slow.timeout = std::chrono::milliseconds(300);
  auto late = p.client.send_sync(slow);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kTimeout);

  p.server.add_fault({"GET", "/api/inbounds", Fault::Kind::kHtml});
  r = p.raw("GET", "/api/inbounds");
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(std::string(r->headers.get("Content-Type").value_or("")).find("text/html"), std::string::npos);
}

// Held requests: kHold does nothing until released, kApplyHold does the call and keeps the
// answer; the hook runs when the fault hits (a test kills its client there).
TEST(MarzbanServer, HeldRequestsAndTheirHook) {
  Panel p;
  p.login();
  std::atomic<int> hooked{0};
  std::atomic<bool> existed_at_hook{false};
  Fault hold{"POST", "/api/user", Fault::Kind::kHold};
  hold.on_hit = [&] { ++hooked; };
  p.server.add_fault(hold);
  auto pending = std::async(std::launch::async, [&] { return p.raw("POST", "/api/user", alice().dump()); });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (p.server.held() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(p.server.held(), 1u);
  EXPECT_EQ(hooked, 1);
  EXPECT_FALSE(p.server.has_user("alice_01")) << "a held request is not done before its release";
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  p.server.release_held();
  auto r = pending.get();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(p.server.has_user("alice_01"));
  EXPECT_EQ(p.server.held(), 0u);

  Fault apply{"DELETE", "/api/user/*", Fault::Kind::kApplyHold};
  apply.on_hit = [&] { existed_at_hook = p.server.has_user("alice_01"); };
  p.server.add_fault(apply);
  http::ClientRequest del;
  del.method = "DELETE";
  del.url = p.server.base_url() + "/api/user/alice_01";
  del.headers.emplace_back("Authorization", "Bearer " + p.token);
  del.timeout = std::chrono::milliseconds(300);
  auto late = p.client.send_sync(del);
  ASSERT_FALSE(late) << "the answer is held";
  EXPECT_EQ(late.error().code, ErrorCode::kTimeout);
  EXPECT_FALSE(existed_at_hook) << "kApplyHold runs its hook after the call was done";
  EXPECT_FALSE(p.server.has_user("alice_01"));
  EXPECT_EQ(p.server.held(), 1u);
  p.server.release_held();  // the client is gone: the answer is dropped, nothing breaks
  EXPECT_EQ(p.server.held(), 0u);
  EXPECT_EQ(p.call("GET", "/api/user/alice_01").status, 404);
}

// A self-signed certificate for 127.0.0.1, made with the openssl CLI.
struct Cert {
  std::filesystem::path dir;
  std::string cert, key, fingerprint;
  Cert() {
    dir = std::filesystem::temp_directory_path() / ("marzban_tls_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "
        "subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
    std::string fp = (dir / "fp").string();
    cmd = "openssl x509 -in " + cert + " -noout -fingerprint -sha256 > " + fp;
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl x509 failed");
    std::ifstream in(fp);
    std::getline(in, fingerprint);
    fingerprint = fingerprint.substr(fingerprint.find('=') + 1);
  }
  ~Cert() { std::filesystem::remove_all(dir); }
};

TEST(MarzbanServer, HttpsWithPinnedSelfSignedCertificate) {
  Cert c;
  Options o;
  o.tls_cert_file = c.cert;
  o.tls_key_file = c.key;
  Panel p(o);
  ASSERT_EQ(p.server.base_url().rfind("https://", 0), 0u);
  auto verified = p.raw("GET", "/api/inbounds");
  ASSERT_FALSE(verified) << "a self-signed certificate fails the normal checks";
  EXPECT_EQ(verified.error().code, ErrorCode::kUnavailable);

  http::TlsPolicy pinned{http::TlsPolicy::Mode::kPinned, "", c.fingerprint};
  auto r = p.raw("GET", "/api/inbounds", "", "", pinned);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 401);

  std::string wrong = c.fingerprint;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  auto refused = p.raw("GET", "/api/inbounds", "", "", http::TlsPolicy{http::TlsPolicy::Mode::kPinned, "", wrong});
  ASSERT_FALSE(refused) << "a pin that does not match stops the handshake";

  auto with_ca = p.raw("GET", "/api/inbounds", "", "", http::TlsPolicy{http::TlsPolicy::Mode::kVerify, c.cert, ""});
  ASSERT_TRUE(with_ca) << with_ca.error().to_string();
  auto insecure = p.raw("GET", "/api/inbounds", "", "", http::TlsPolicy{http::TlsPolicy::Mode::kInsecure, "", ""});
  ASSERT_TRUE(insecure) << insecure.error().to_string();
  EXPECT_FALSE(http::parse_sha256_fingerprint("abc"));
}

}  // namespace
}  // namespace ms::marzban_test
