#include "core/crypto/keyring.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "core/crypto/atomic_file.hpp"
#include "core/crypto/primitives.hpp"

namespace ms::crypto {
namespace {

constexpr std::size_t kKeyIdBytes = 8;

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

void wipe(std::string& s) { sodium_memzero(s.data(), s.size()); }

}  // namespace

Key generate_key() {
  ensure_sodium();
  Key key;
  crypto_secretbox_keygen(key.data());
  return key;
}

std::string key_id(const Key& key) {
  ensure_sodium();
  // Hash the full 32-byte digest and keep its first 8 bytes, as the spec of the id says.
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, key.data(), key.size(), nullptr, 0);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), kKeyIdBytes));
}

std::string encode_key(const Key& key) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

Result<Key> decode_key(std::string_view text) {
  text = trim(text);
  // Keys are pasted from many places; accept either alphabet and optional padding.
  std::string s(text);
  std::replace(s.begin(), s.end(), '-', '+');
  std::replace(s.begin(), s.end(), '_', '/');
  while (s.size() % 4 != 0) s.push_back('=');
  auto raw = base64_decode(s);
  wipe(s);
  if (!raw) return fail(ErrorCode::kInvalidArgument, "secret key is not valid base64");
  if (raw->size() != kKeySize) {
    std::size_t n = raw->size();
    wipe(*raw);
    return fail(ErrorCode::kInvalidArgument,
                "secret key must be 32 bytes of base64 (got " + std::to_string(n) + " bytes)");
  }
  Key key;
  std::copy(raw->begin(), raw->end(), key.begin());
  wipe(*raw);
  return key;
}

Keyring::Keyring(const Key& primary) { entries_.push_back(Entry{key_id(primary), primary}); }

Keyring::~Keyring() {
  for (auto& e : entries_) sodium_memzero(e.key.data(), e.key.size());
}

Result<Keyring> Keyring::from_base64(std::string_view base64_key) {
  auto key = decode_key(base64_key);
  if (!key) return fail(key.error());
  Keyring ring(*key);
  sodium_memzero(key->data(), key->size());
  return ring;
}

Result<Keyring> Keyring::parse(std::string_view text) {
  std::vector<Key> keys;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto key = decode_key(line);
    if (!key) {
      return fail(ErrorCode::kCorrupted, "key file line " + std::to_string(line_no) + ": " + key.error().message);
    }
    keys.push_back(*key);
  }
  if (keys.empty()) return fail(ErrorCode::kCorrupted, "key file contains no key");
  Keyring ring(keys.front());
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (!ring.contains(key_id(keys[i]))) ring.entries_.push_back(Entry{key_id(keys[i]), keys[i]});
  }
  for (auto& k : keys) sodium_memzero(k.data(), k.size());
  return ring;
}

std::string Keyring::serialize() const {
  std::string out =
      "# Mothership secret keys. First key = primary. Keep this file private (chmod 600);\n"
      "# losing it makes encrypted data unreadable.\n";
  for (const auto& e : entries_) {
    out += encode_key(e.key);
    out += '\n';
  }
  return out;
}

void Keyring::add_primary(const Key& key) {
  std::string id = key_id(key);
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.id == id; });
  if (it != entries_.end()) {
    std::rotate(entries_.begin(), it, it + 1);
    return;
  }
  entries_.insert(entries_.begin(), Entry{std::move(id), key});
}

Result<void> Keyring::remove(std::string_view id) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.id == id; });
  if (it == entries_.end()) return fail(ErrorCode::kNotFound, "no key with id " + std::string(id));
  if (it == entries_.begin()) {
    return fail(ErrorCode::kConflict, "cannot remove the primary key " + std::string(id) + "; add a new primary first");
  }
  sodium_memzero(it->key.data(), it->key.size());
  entries_.erase(it);
  return ok();
}

const Key* Keyring::find(std::string_view id) const {
  for (const auto& e : entries_) {
    if (e.id == id) return &e.key;
  }
  return nullptr;
}

std::vector<std::string> Keyring::key_ids() const {
  std::vector<std::string> ids;
  ids.reserve(entries_.size());
  for (const auto& e : entries_) ids.push_back(e.id);
  return ids;
}

Result<Keyring> load_key_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return fail(ErrorCode::kNotFound, "key file " + path + " does not exist");
    return fail(ErrorCode::kUnavailable, "cannot stat key file " + path + ": " + errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kCorrupted, "key file " + path + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return fail(ErrorCode::kPermissionDenied,
                "key file " + path + " is accessible by other users; refusing to use it. Fix: chmod 600 " + path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kUnavailable, "cannot open key file " + path + ": " + errno_text(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return fail(ErrorCode::kUnavailable, "cannot read key file " + path);
  std::string text = buf.str();
  auto ring = Keyring::parse(text);
  wipe(text);
  if (!ring) return fail(ring.error().code, "key file " + path + ": " + ring.error().message);
  return ring;
}

Result<Keyring> load_or_create_key_file(const std::string& path) {
  auto loaded = load_key_file(path);
  if (loaded || loaded.error().code != ErrorCode::kNotFound) return loaded;

  Key key = generate_key();
  Keyring ring(key);
  sodium_memzero(key.data(), key.size());
  auto writer = AtomicFileWriter::open(path);
  if (!writer) return fail(writer.error());
  std::string text = ring.serialize();
  auto written = writer->write(text);
  wipe(text);
  if (!written) return fail(written.error());
  auto committed = writer->commit_no_replace();
  // Another process created it between our check and our link: theirs wins.
  if (!committed && committed.error().code == ErrorCode::kAlreadyExists) return load_key_file(path);
  if (!committed) return fail(committed.error());
  return ring;
}

Result<void> save_key_file(const std::string& path, const Keyring& keyring) {
  auto writer = AtomicFileWriter::open(path);
  if (!writer) return fail(writer.error());
  std::string text = keyring.serialize();
  auto written = writer->write(text);
  wipe(text);
  if (!written) return written;
  return writer->commit();
}

}  // namespace ms::crypto
