#include "core/crypto/backup_stream.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <stdexcept>
#include <vector>

#include "core/crypto/primitives.hpp"

namespace ms::crypto {
namespace {

constexpr std::size_t kKeyIdChars = 16;
constexpr std::size_t kPrefixSize = 5 + kKeyIdChars;  // magic + key id
constexpr std::size_t kHeaderSize = kPrefixSize + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kCipherChunkSize = kBackupChunkSize + crypto_secretstream_xchacha20poly1305_ABYTES;

static_assert(sizeof("MSBK1") - 1 == 5);

using Sink = std::function<Result<void>(std::string_view)>;
// Fills `buf` as far as possible; returns the count (short only at end of input).
using Source = std::function<Result<std::size_t>(unsigned char* buf, std::size_t size)>;

Source memory_source(std::string_view data) {
  return [data](unsigned char* buf, std::size_t size) mutable -> Result<std::size_t> {
    std::size_t n = std::min(size, data.size());
    std::copy_n(data.data(), n, buf);
    data.remove_prefix(n);
    return n;
  };
}

Source fd_source(int fd, std::string path) {
  return [fd, path = std::move(path)](unsigned char* buf, std::size_t size) -> Result<std::size_t> {
    std::size_t got = 0;
    while (got < size) {
      ssize_t n = ::read(fd, buf + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorCode::kUnavailable, "cannot read " + path + ": " + errno_text(errno));
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    return got;
  };
}

Result<void> encrypt_stream(const Source& in, const Sink& out, const Key& key) {
  ensure_sodium();
  std::string header(kHeaderSize, '\0');
  std::copy(kBackupMagic.begin(), kBackupMagic.end(), header.begin());
  std::string id = key_id(key);
  std::copy(id.begin(), id.end(), header.begin() + kBackupMagic.size());
  crypto_secretstream_xchacha20poly1305_state state;
  crypto_secretstream_xchacha20poly1305_init_push(&state, reinterpret_cast<unsigned char*>(header.data()) + kPrefixSize,
                                                  key.data());
  if (auto r = out(header); !r) return r;

  const auto* ad = reinterpret_cast<const unsigned char*>(header.data());
  std::vector<unsigned char> plain(kBackupChunkSize);
  std::string cipher(kCipherChunkSize, '\0');
  Result<void> result = ok();
  for (;;) {
    auto n = in(plain.data(), plain.size());
    if (!n) {
      result = fail(n.error());
      break;
    }
    // A short read means end of input; a full chunk is followed by at least one more
    // chunk (possibly empty) that carries TAG_FINAL.
    bool last = *n < plain.size();
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, reinterpret_cast<unsigned char*>(cipher.data()), &clen, plain.data(), *n, ad, kPrefixSize,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    if (auto r = out(std::string_view(cipher.data(), clen)); !r) {
      result = r;
      break;
    }
    if (last) break;
  }
  sodium_memzero(&state, sizeof state);
  sodium_memzero(plain.data(), plain.size());
  return result;
}

Result<void> decrypt_stream(const Source& in, const Sink& out, const Keyring& keyring) {
  ensure_sodium();
  unsigned char header[kHeaderSize];
  auto got = in(header, sizeof header);
  if (!got) return fail(got.error());
  if (*got < sizeof header || std::string_view(reinterpret_cast<char*>(header), 5) != kBackupMagic) {
    return fail(ErrorCode::kCorrupted, "not a Mothership backup (missing MSBK1 header)");
  }
  std::string id(reinterpret_cast<char*>(header) + 5, kKeyIdChars);
  const Key* key = keyring.find(id);
  if (key == nullptr) {
    return fail(ErrorCode::kCorrupted, "backup was encrypted with key " + id +
                                           ", which is not in the configured keyring: the secret key does not match "
                                           "the one this backup was encrypted with");
  }
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, header + kPrefixSize, key->data()) != 0) {
    return fail(ErrorCode::kCorrupted, "backup stream header is invalid");
  }
  std::vector<unsigned char> cipher(kCipherChunkSize);
  std::string plain(kBackupChunkSize, '\0');
  Result<void> result = ok();
  for (;;) {
    auto n = in(cipher.data(), cipher.size());
    if (!n) {
      result = fail(n.error());
      break;
    }
    if (*n < crypto_secretstream_xchacha20poly1305_ABYTES) {
      result = fail(ErrorCode::kCorrupted, "backup is truncated (no final chunk)");
      break;
    }
    unsigned long long plen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state, reinterpret_cast<unsigned char*>(plain.data()), &plen, &tag,
                                                   cipher.data(), *n, header, kPrefixSize) != 0) {
      result = fail(ErrorCode::kCorrupted, "backup failed authentication: it was altered, truncated or damaged");
      break;
    }
    bool final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (!final && *n < cipher.size()) {
      result = fail(ErrorCode::kCorrupted, "backup is truncated (no final chunk)");
      break;
    }
    if (auto r = out(std::string_view(plain.data(), plen)); !r) {
      result = r;
      break;
    }
    if (final) {
      unsigned char extra;
      auto more = in(&extra, 1);
      if (!more)
        result = fail(more.error());
      else if (*more != 0)
        result = fail(ErrorCode::kCorrupted, "backup has data after its final chunk");
      break;
    }
  }
  sodium_memzero(&state, sizeof state);
  sodium_memzero(plain.data(), plain.size());
  return result;
}

// Opens src, runs `transform` into an AtomicFileWriter for dst, commits only on success.
Result<void> transform_file(const std::string& src_path, const std::string& dst_path, const AtomicFileOptions& options,
                            const std::function<Result<void>(const Source&, const Sink&)>& transform) {
  int fd = ::open(src_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                "cannot open " + src_path + ": " + errno_text(err));
  }
  auto writer = AtomicFileWriter::open(dst_path, options);
  if (!writer) {
    ::close(fd);
    return fail(writer.error());
  }
  Result<void> r = transform(fd_source(fd, src_path), [&](std::string_view bytes) { return writer->write(bytes); });
  ::close(fd);
  if (!r) return r;  // the writer's destructor removes the temporary file
  return writer->commit();
}

}  // namespace

Result<void> encrypt_file(const std::string& src_path, const std::string& dst_path, const Key& key,
                          const AtomicFileOptions& options) {
  return transform_file(src_path, dst_path, options,
                        [&](const Source& in, const Sink& out) { return encrypt_stream(in, out, key); });
}

Result<void> decrypt_file(const std::string& src_path, const std::string& dst_path, const Keyring& keyring,
                          const AtomicFileOptions& options) {
  return transform_file(src_path, dst_path, options,
                        [&](const Source& in, const Sink& out) { return decrypt_stream(in, out, keyring); });
}

std::string encrypt_bytes(std::string_view plaintext, const Key& key) {
  std::string out;
  auto r = encrypt_stream(
      memory_source(plaintext),
      [&](std::string_view b) -> Result<void> {
        out.append(b);
        return ok();
      },
      key);
  // Memory sources and sinks cannot fail.
  if (!r) throw std::logic_error("in-memory encryption failed: " + r.error().to_string());
  return out;
}

Result<std::string> decrypt_bytes(std::string_view data, const Keyring& keyring) {
  std::string out;
  auto r = decrypt_stream(
      memory_source(data),
      [&](std::string_view b) -> Result<void> {
        out.append(b);
        return ok();
      },
      keyring);
  if (!r) {
    sodium_memzero(out.data(), out.size());
    return fail(r.error());
  }
  return out;
}

}  // namespace ms::crypto
