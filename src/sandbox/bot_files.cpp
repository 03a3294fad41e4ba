// Files: content-addressed storage with stable file_unique_id (per content) and file_id (per
// bot and content), sendPhoto, sendDocument, getFile and the download path.
#include <algorithm>
#include <cctype>

#include "core/crypto/primitives.hpp"
#include "sandbox/emulator_impl.hpp"

namespace ms::sandbox {
namespace {

constexpr std::size_t kMaxDownload = 20u << 20;

std::uint32_t be16(std::string_view d, std::size_t at) {
  return (static_cast<unsigned char>(d[at]) << 8) | static_cast<unsigned char>(d[at + 1]);
}
std::uint32_t be32(std::string_view d, std::size_t at) { return (be16(d, at) << 16) | be16(d, at + 2); }

// Width and height of a PNG, JPEG or GIF; nullopt for anything else.
std::optional<std::pair<int, int>> image_size(std::string_view d) {
  if (d.size() >= 24 && d.substr(0, 8) == "\x89PNG\r\n\x1a\n" && d.substr(12, 4) == "IHDR") {
    return std::make_pair(static_cast<int>(be32(d, 16)), static_cast<int>(be32(d, 20)));
  }
  if (d.size() >= 10 && (d.substr(0, 6) == "GIF87a" || d.substr(0, 6) == "GIF89a")) {
    auto le16 = [&](std::size_t at) { return static_cast<unsigned char>(d[at]) | (static_cast<unsigned char>(d[at + 1]) << 8); };
    return std::make_pair(le16(6), le16(8));
  }
  if (d.size() >= 4 && static_cast<unsigned char>(d[0]) == 0xFF && static_cast<unsigned char>(d[1]) == 0xD8) {
    std::size_t i = 2;
    while (i + 9 < d.size()) {
      if (static_cast<unsigned char>(d[i]) != 0xFF) return std::nullopt;
      unsigned marker = static_cast<unsigned char>(d[i + 1]);
      std::size_t length = be16(d, i + 2);
      bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) return std::make_pair(static_cast<int>(be16(d, i + 7)), static_cast<int>(be16(d, i + 5)));
      i += 2 + length;
    }
  }
  return std::nullopt;
}

std::string extension_of(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot > 8) return "";
  std::string ext(name.substr(dot));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string mime_for(const std::string& ext) {
  if (ext == ".pdf") return "application/pdf";
  if (ext == ".zip") return "application/zip";
  if (ext == ".txt") return "text/plain";
  if (ext == ".json") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  return "application/octet-stream";
}

std::string make_file_id(std::int64_t bot, const FileRec& f) {
  std::string digest = crypto::sha256("file_id:" + std::to_string(bot) + ":" + f.unique_id);
  return (f.kind == "photo" ? "AgAC" : "BQAC") + crypto::base64_encode(digest, crypto::Base64Variant::kUrlSafeNoPadding);
}

}  // namespace

std::string Emulator::Impl::file_id_locked(std::int64_t bot, const std::string& unique) {
  const FileRec& f = files.at(unique);
  std::string id = make_file_id(bot, f);
  file_ids.emplace(id, std::make_pair(bot, unique));
  return id;
}

Result<std::string> Emulator::Impl::store_file_locked(std::string kind, std::string data, std::string file_name,
                                                      std::string mime_type) {
  std::string unique = "AQAD" + crypto::base64_encode(crypto::sha256(kind + ":" + data), crypto::Base64Variant::kUrlSafeNoPadding)
                                    .substr(0, 12);
  if (files.count(unique)) return unique;
  FileRec f;
  f.unique_id = unique;
  f.kind = kind;
  if (kind == "photo") {
    auto size = image_size(data);
    if (!size || size->first <= 0 || size->second <= 0) return fail(ErrorCode::kInvalidArgument, "IMAGE_PROCESS_FAILED");
    if (size->first + size->second > 10000 || std::max(size->first, size->second) > 20 * std::min(size->first, size->second)) {
      return fail(ErrorCode::kInvalidArgument, "PHOTO_INVALID_DIMENSIONS");
    }
    f.width = size->first;
    f.height = size->second;
    f.file_path = "photos/file_" + std::to_string(files.size()) + ".jpg";
  } else {
    std::string ext = extension_of(file_name);
    f.file_name = file_name.empty() ? "file" + ext : file_name;
    f.mime_type = mime_type.empty() || mime_type == "application/octet-stream" ? mime_for(ext) : mime_type;
    f.file_path = "documents/file_" + std::to_string(files.size()) + ext;
  }
  f.data = std::move(data);
  file_paths[f.file_path] = unique;
  files.emplace(unique, std::move(f));
  return unique;
}

json Emulator::Impl::photo_json_locked(std::int64_t bot, const FileRec& f) {
  return json::array({{{"file_id", file_id_locked(bot, f.unique_id)},
                       {"file_unique_id", f.unique_id},
                       {"file_size", f.data.size()},
                       {"width", f.width},
                       {"height", f.height}}});
}

json Emulator::Impl::document_json_locked(std::int64_t bot, const FileRec& f) {
  return {{"file_name", f.file_name},
          {"mime_type", f.mime_type},
          {"file_id", file_id_locked(bot, f.unique_id)},
          {"file_unique_id", f.unique_id},
          {"file_size", f.data.size()}};
}

ApiReply Emulator::Impl::send_file_locked(BotRec& bot, const Params& p, const std::string& kind, Effects& fx) {
  ApiReply err;
  ChatRec* chat = resolve_chat_locked(bot, p.str("chat_id"), true, err);
  if (!chat) return err;
  auto caption = format_text(p, "caption", "parse_mode", "caption_entities", true, err);
  if (!caption) return err;
  auto markup = parse_markup(p, err);
  if (!markup) return err;
  const std::string missing = "Bad Request: there is no " + kind + " in the request";
  std::string value = p.str(kind);
  const UploadedFile* upload = nullptr;
  std::string unique;
  if (value.rfind("attach://", 0) == 0) {
    upload = p.file(value.substr(9));
    if (!upload) return api_error(400, missing);
  } else if (!value.empty()) {
    auto known = file_ids.find(value);
    if (value.find('.') != std::string::npos || known == file_ids.end() || known->second.first != bot.id) {
      return api_error(400, "Bad Request: wrong file identifier/HTTP URL specified");
    }
    unique = known->second.second;
    if (files.at(unique).kind != kind) return api_error(400, "Bad Request: type of file mismatch");
  } else {
    upload = p.file(kind);
    if (!upload) return api_error(400, missing);
  }
  if (upload) {
    auto stored = store_file_locked(kind, upload->data, upload->file_name, upload->content_type);
    if (!stored) return api_error(400, "Bad Request: " + stored.error().message);
    unique = *stored;
  }
  const FileRec& f = files.at(unique);
  json content = json::object();
  content[kind] = kind == "photo" ? photo_json_locked(bot.id, f) : document_json_locked(bot.id, f);
  if (!caption->text.empty()) {
    content["caption"] = caption->text;
    if (!caption->entities.empty()) content["caption_entities"] = caption->entities;
  }
  if (!apply_reply_locked(*chat, p, content, err)) return err;
  if (auto limited = check_rate_locked(bot, *chat)) return *limited;
  return api_ok(send_bot_message_locked(bot, *chat, std::move(content), *markup, fx).message);
}

ApiReply Emulator::Impl::m_send_photo(BotRec& bot, const Params& p, Effects& fx) { return send_file_locked(bot, p, "photo", fx); }

ApiReply Emulator::Impl::m_send_document(BotRec& bot, const Params& p, Effects& fx) {
  return send_file_locked(bot, p, "document", fx);
}

ApiReply Emulator::Impl::m_get_file(BotRec& bot, const Params& p, Effects&) {
  std::string id = p.str("file_id");
  if (id.empty()) return api_error(400, "Bad Request: file_id not specified");
  auto known = file_ids.find(id);
  if (known == file_ids.end() || known->second.first != bot.id) return api_error(400, "Bad Request: invalid file_id");
  const FileRec& f = files.at(known->second.second);
  if (f.data.size() > kMaxDownload) return api_error(400, "Bad Request: file is too big");
  return api_ok(json{{"file_id", id}, {"file_unique_id", f.unique_id}, {"file_size", f.data.size()}, {"file_path", f.file_path}});
}

Result<FileDownload> Emulator::download_file(std::string_view token, std::string_view file_path) {
  std::lock_guard lock(impl_->mu);
  auto bot = impl_->bot_by_token.find(std::string(token));
  if (bot == impl_->bot_by_token.end()) return fail(ErrorCode::kUnauthenticated, "Unauthorized");
  auto path = impl_->file_paths.find(std::string(file_path));
  if (path == impl_->file_paths.end()) return fail(ErrorCode::kNotFound, "Not Found");
  const FileRec& f = impl_->files.at(path->second);
  if (!impl_->file_ids.count(make_file_id(bot->second, f)) || f.data.size() > kMaxDownload) {
    return fail(ErrorCode::kNotFound, "Not Found");
  }
  return FileDownload{f.kind == "photo" ? "image/jpeg" : f.mime_type, f.data};
}

}  // namespace ms::sandbox
