// QR codes for the shop bot: a subscription or config link drawn as a PNG picture that
// the bot sends with sendPhoto.
//
// The text is encoded as-is in 8-bit mode (UTF-8 bytes; phones read links and Persian
// text from it), error correction M (about 15% of the code may be damaged), and drawn
// black on white, grayscale, with a quiet zone around it.
// Threads: pure function; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ms::shop {

// The largest text (in bytes) one QR code holds in 8-bit mode at level M (version 40).
inline constexpr std::size_t kQrMaxBytes = 2331;
// The widest picture qr_png draws.
inline constexpr int kQrMaxSidePixels = 4096;

// PNG bytes of `text` as a QR code, each module `module_pixels` square pixels, with a
// quiet zone of `margin_modules` modules on every side (4 is what the standard asks).
// Fails with kInvalidArgument for empty text, text longer than kQrMaxBytes, module_pixels
// outside 1..64 or margin_modules outside 0..32,
// or a picture wider than kQrMaxSidePixels; kInternal if an encoder fails otherwise.
Result<std::string> qr_png(std::string_view text, int module_pixels = 8, int margin_modules = 4);

}  // namespace ms::shop
