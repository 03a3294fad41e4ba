// qr_png drawn, then read back the way a phone would: the PNG decoded with libpng and the
// pixels scanned with zbar (an independent QR reader); the text must come back unchanged.
#include "bots/shop/qr.hpp"

#include <png.h>
#include <zbar.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ms::shop {
namespace {

// zbar.h puts its C API in namespace zbar when compiled as C++.
using namespace zbar;  // NOLINT(google-build-using-namespace)

struct Gray {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> pixels;
};

// The PNG as 8-bit grayscale pixels; fails the test if libpng cannot read it.
std::optional<Gray> read_png(const std::string& png) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, png.data(), png.size())) {
    ADD_FAILURE() << "libpng: " << image.message;
    return std::nullopt;
  }
  image.format = PNG_FORMAT_GRAY;
  Gray gray;
  gray.width = static_cast<int>(image.width);
  gray.height = static_cast<int>(image.height);
  gray.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, gray.pixels.data(), 0, nullptr)) {
    ADD_FAILURE() << "libpng: " << image.message;
    png_image_free(&image);
    return std::nullopt;
  }
  return gray;
}

// Every QR code zbar finds in the picture, as the text it decoded.
std::vector<std::string> scan(const Gray& gray) {
  zbar_image_scanner_t* scanner = zbar_image_scanner_create();
  zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
  zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
  zbar_image_t* image = zbar_image_create();
  zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
  zbar_image_set_size(image, gray.width, gray.height);
  zbar_image_set_data(image, gray.pixels.data(), gray.pixels.size(), nullptr);
  std::vector<std::string> found;
  if (zbar_scan_image(scanner, image) > 0) {
    for (const zbar_symbol_t* s = zbar_image_first_symbol(image); s; s = zbar_symbol_next(s)) {
      EXPECT_EQ(zbar_symbol_get_type(s), ZBAR_QRCODE);
      found.emplace_back(zbar_symbol_get_data(s), zbar_symbol_get_data_length(s));
    }
  }
  zbar_image_destroy(image);
  zbar_image_scanner_destroy(scanner);
  return found;
}

std::vector<std::string> round_trip(const std::string& text, int module_pixels = 8, int margin = 4) {
  auto png = qr_png(text, module_pixels, margin);
  EXPECT_TRUE(png.has_value()) << png.error().to_string();
  if (!png) return {};
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto gray = read_png(*png);
  if (!gray) return {};
  EXPECT_EQ(gray->width, gray->height);
  // Only black and white pixels, and the quiet zone's corner is white.
  for (unsigned char p : gray->pixels) {
    if (p != 0 && p != 255) {
      ADD_FAILURE() << "grey pixel " << int(p);
      break;
    }
  }
  EXPECT_EQ(gray->pixels.front(), 255);
  return scan(*gray);
}

TEST(QrPng, VlessLinkReadsBack) {
  const std::string link =
      "vless://1f7e6a2c-9d3b-4c8e-a5f1-2b6d8e0c4a97@de1.example.net:443?security=reality&encryption=none"
      "&pbk=Xq3m9YvKp2LrT8sWnB4cF7hJ1dG6aE5uZ0oIyQwRtUk&headerType=none&fp=chrome&spx=%2F&type=tcp"
      "&flow=xtls-rprx-vision&sni=www.example.com&sid=6ba85179e30d4fc2#Germany%20%F0%9F%87%A9%F0%9F%87%AA%2030GB";
  EXPECT_EQ(round_trip(link), std::vector<std::string>{link});
}

TEST(QrPng, PersianTextReadsBack) {
  const std::string text = "سرویس شما: ۳۰ گیگابایت، ۳۰ روز — اشتراک https://sub.example.net/s/abc123";
  EXPECT_EQ(round_trip(text), std::vector<std::string>{text});
}

TEST(QrPng, SmallModulesAndNoMarginStillDraw) {
  auto png = qr_png("https://t.me/example_bot?start=ref_42", 1, 0);
  ASSERT_TRUE(png.has_value()) << png.error().to_string();
  auto gray = read_png(*png);
  ASSERT_TRUE(gray.has_value());
  // Version 3 (29 modules) holds 42 bytes at level M; one pixel per module, no margin.
  EXPECT_EQ(gray->width, 29);
  // Finder pattern: the top-left module is dark when there is no margin.
  EXPECT_EQ(gray->pixels.front(), 0);
  // Module size and margin scale the picture exactly.
  auto big = qr_png("https://t.me/example_bot?start=ref_42", 5, 4);
  ASSERT_TRUE(big.has_value());
  auto big_gray = read_png(*big);
  ASSERT_TRUE(big_gray.has_value());
  EXPECT_EQ(big_gray->width, (29 + 8) * 5);
  EXPECT_EQ(scan(*big_gray), std::vector<std::string>{"https://t.me/example_bot?start=ref_42"});
}

TEST(QrPng, LongestTextFitsAndOneMoreByteFails) {
  std::string text(kQrMaxBytes, 'a');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(round_trip(text, 3, 4), std::vector<std::string>{text});
  auto too_long = qr_png(text + "b");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(too_long.error().message.find("too long"), std::string::npos);
}

TEST(QrPng, BadArgumentsAreErrors) {
  EXPECT_EQ(qr_png("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(qr_png("x", 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(qr_png("x", 65).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(qr_png("x", 8, -1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(qr_png("x", 8, 33).error().code, ErrorCode::kInvalidArgument);
  // Version 40 at 64 pixels a module would be 15,424 pixels wide.
  auto huge = qr_png(std::string(kQrMaxBytes, 'z'), 64, 4);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ms::shop
