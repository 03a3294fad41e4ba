#include "http/address_policy.hpp"

#include <gtest/gtest.h>

namespace ms::http {
namespace {

std::string range_of(std::string_view address) {
  auto r = refused_range(address);
  return r ? std::string(*r) : "allowed";
}

TEST(AddressPolicy, Ipv4RefusedRanges) {
  EXPECT_EQ(range_of("127.0.0.1"), "loopback");
  EXPECT_EQ(range_of("127.255.255.254"), "loopback");
  EXPECT_EQ(range_of("10.1.2.3"), "private");
  EXPECT_EQ(range_of("172.16.0.1"), "private");
  EXPECT_EQ(range_of("172.31.255.255"), "private");
  EXPECT_EQ(range_of("192.168.1.1"), "private");
  EXPECT_EQ(range_of("169.254.169.254"), "link-local");  // cloud metadata
  EXPECT_EQ(range_of("100.64.0.1"), "shared (carrier-grade NAT)");
  EXPECT_EQ(range_of("100.127.255.255"), "shared (carrier-grade NAT)");
  EXPECT_EQ(range_of("0.0.0.0"), "this network");
  EXPECT_EQ(range_of("0.1.2.3"), "this network");
  EXPECT_EQ(range_of("224.0.0.1"), "multicast");
  EXPECT_EQ(range_of("239.255.255.250"), "multicast");
  EXPECT_EQ(range_of("255.255.255.255"), "reserved");
}

TEST(AddressPolicy, Ipv4PublicNeighboursOfTheRangesAreAllowed) {
  for (const char* a : {"8.8.8.8", "1.1.1.1", "11.0.0.1", "9.255.255.255", "172.15.255.255", "172.32.0.0",
                        "192.167.255.255", "192.169.0.0", "169.253.255.255", "169.255.0.0", "100.63.255.255",
                        "100.128.0.0", "126.255.255.255", "128.0.0.1", "223.255.255.255", "1.0.0.0"}) {
    EXPECT_EQ(range_of(a), "allowed") << a;
  }
}

TEST(AddressPolicy, Ipv6RefusedRanges) {
  EXPECT_EQ(range_of("::1"), "loopback");
  EXPECT_EQ(range_of("::"), "unspecified");
  EXPECT_EQ(range_of("fc00::1"), "unique local");
  EXPECT_EQ(range_of("fdff:ffff::1"), "unique local");
  EXPECT_EQ(range_of("fe80::1"), "link-local");
  EXPECT_EQ(range_of("febf::1"), "link-local");
  EXPECT_EQ(range_of("ff02::1"), "multicast");
  // An IPv4 address inside an IPv6 one is judged as the IPv4 address.
  EXPECT_EQ(range_of("::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(range_of("::ffff:7f00:1"), "loopback");
  EXPECT_EQ(range_of("::ffff:169.254.169.254"), "link-local");
  EXPECT_EQ(range_of("::ffff:10.0.0.1"), "private");
  EXPECT_EQ(range_of("::127.0.0.1"), "reserved");
  EXPECT_EQ(range_of("64:ff9b::192.168.0.1"), "private");
  EXPECT_EQ(range_of("2002:7f00:1::"), "loopback");  // 6to4 of 127.0.0.1
}

TEST(AddressPolicy, Ipv6PublicAddressesAreAllowed) {
  for (const char* a : {"2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",
                        "2002:0808:0808::", "fbff::1"}) {
    EXPECT_EQ(range_of(a), "allowed") << a;
  }
  EXPECT_EQ(range_of("fec0::1"), "site-local");
}

TEST(AddressPolicy, NotAnAddressIsNotARange) { EXPECT_EQ(range_of("panel.example.com"), "allowed"); }

TEST(AddressPolicy, UrlsWhoseHostResolvesToARefusedAddressAreRefused) {
  for (const char* url : {"http://127.0.0.1:8000", "https://127.0.0.1/dashboard", "http://localhost:8000",
                          "http://2130706433:8000/",  // 127.0.0.1 as one decimal number
                          "http://0177.0.0.1:8000",   // octal
                          "http://0x7f.0.0.1/", "http://127.1/", "http://[::1]:8000", "http://[::ffff:127.0.0.1]/",
                          "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5:8443", "http://0.0.0.0:80",
                          "http://[fe80::1%25eth0]/"}) {
    auto r = check_public_url(url);
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << url << " " << r.error().to_string();
    EXPECT_TRUE(is_address_refusal(r.error())) << url;
  }
  auto loop = check_public_url("http://2130706433:8000/");
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("loopback (127.0.0.1)"), std::string::npos) << loop.error().message;
}

TEST(AddressPolicy, PublicNumericUrlsPassAndMalformedOnesAreInvalid) {
  EXPECT_TRUE(check_public_url("https://8.8.8.8:8443/"));
  EXPECT_TRUE(check_public_url("http://[2001:4860:4860::8888]/"));
  auto bad = check_public_url("not a url");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(is_address_refusal(bad.error()));
}

}  // namespace
}  // namespace ms::http
