#include "bots/shop/qr.hpp"

#include <qrencode.h>

#include <png.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace ms::shop {
namespace {

struct QrcodeFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

Result<std::string> qr_png(std::string_view text, int module_pixels, int margin_modules) {
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "qr: the text is empty");
  if (text.size() > kQrMaxBytes) {
    return fail(ErrorCode::kInvalidArgument, "qr: the text is too long for a QR code (" + std::to_string(text.size()) +
                                                 " bytes, at most " + std::to_string(kQrMaxBytes) + ")");
  }
  if (module_pixels < 1 || module_pixels > 64) {
    return fail(ErrorCode::kInvalidArgument, "qr: module_pixels must be 1..64");
  }
  if (margin_modules < 0 || margin_modules > 32) {
    return fail(ErrorCode::kInvalidArgument, "qr: margin_modules must be 0..32");
  }

  // encodeData (not encodeString) keeps every byte in 8-bit mode: no guessing of numeric,
  // alphanumeric or Kanji segments, and a NUL byte would not cut the text short.
  errno = 0;
  std::unique_ptr<QRcode, QrcodeFree> code(QRcode_encodeData(
      static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M));
  if (!code) {
    if (errno == ERANGE) return fail(ErrorCode::kInvalidArgument, "qr: the text is too long for a QR code");
    return fail(ErrorCode::kInternal, std::string("qr: encoding failed: ") + std::strerror(errno));
  }

  const int modules = code->width + 2 * margin_modules;
  const int side = modules * module_pixels;
  // Telegram scales photos down to 2560 px anyway; a bigger picture only costs memory.
  if (side > kQrMaxSidePixels) {
    return fail(ErrorCode::kInvalidArgument, "qr: the picture would be " + std::to_string(side) +
                                                 " pixels wide (at most " + std::to_string(kQrMaxSidePixels) +
                                                 "); use fewer pixels per module");
  }
  // One byte per pixel, 0 black and 255 white; the quiet zone stays white.
  std::vector<unsigned char> pixels(static_cast<std::size_t>(side) * side, 255);
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      // Bit 0 of each module byte is its colour (1 = dark); the other bits say what it is.
      if ((code->data[y * code->width + x] & 1) == 0) continue;
      const int px = (x + margin_modules) * module_pixels;
      const int py = (y + margin_modules) * module_pixels;
      for (int dy = 0; dy < module_pixels; ++dy) {
        std::memset(&pixels[static_cast<std::size_t>(py + dy) * side + px], 0, module_pixels);
      }
    }
  }

  // libpng's simplified API reports errors through the image struct (no longjmp).
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(side);
  image.height = static_cast<png_uint_32>(side);
  image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), side, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return fail(ErrorCode::kInternal, "qr: PNG size failed: " + why);
  }
  std::string png(size, '\0');
  if (!png_image_write_to_memory(&image, png.data(), &size, 0, pixels.data(), side, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    return fail(ErrorCode::kInternal, "qr: PNG write failed: " + why);
  }
  png.resize(size);
  return png;
}

}  // namespace ms::shop
