#include "sandbox/params.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "http/request.hpp"

namespace ms::sandbox {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The value of `name=` inside a header value such as `form-data; name="x"; filename="a.png"`.
std::optional<std::string> header_attribute(std::string_view header, std::string_view name) {
  std::string low = lower(header);
  std::size_t pos = 0;
  while ((pos = low.find(lower(name), pos)) != std::string::npos) {
    bool boundary_before = pos == 0 || low[pos - 1] == ';' || low[pos - 1] == ' ' || low[pos - 1] == '\t';
    std::size_t eq = pos + name.size();
    if (!boundary_before || eq >= low.size() || low[eq] != '=') {
      pos = eq;
      continue;
    }
    std::string_view rest = header.substr(eq + 1);
    if (!rest.empty() && rest.front() == '"') {
      auto close = rest.find('"', 1);
      if (close == std::string_view::npos) return std::nullopt;
      return std::string(rest.substr(1, close - 1));
    }
    auto end = rest.find(';');
    return std::string(trim(rest.substr(0, end)));
  }
  return std::nullopt;
}

}  // namespace

void Params::add(std::string name, std::string value) { values_.emplace_back(std::move(name), std::move(value)); }

void Params::add_file(UploadedFile file) { files_.push_back(std::move(file)); }

std::optional<std::string_view> Params::get(std::string_view name) const {
  for (const auto& [k, v] : values_) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string Params::str(std::string_view name) const { return std::string(get(name).value_or("")); }

std::int64_t Params::integer(std::string_view name, std::int64_t fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  std::string_view t = trim(*v);
  if (t.empty()) return fallback;
  return std::strtoll(std::string(t).c_str(), nullptr, 10);
}

bool Params::boolean(std::string_view name) const {
  auto v = get(name);
  if (!v) return false;
  std::string t = lower(trim(*v));
  return t == "true" || t == "yes" || t == "1";
}

const UploadedFile* Params::file(std::string_view name) const {
  for (const auto& f : files_) {
    if (f.field == name) return &f;
  }
  return nullptr;
}

Result<void> parse_urlencoded(std::string_view text, Params& out) {
  while (!text.empty()) {
    auto amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = http::percent_decode(pair.substr(0, eq), true);
    if (!key) return fail(key.error());
    auto value = http::percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!value) return fail(value.error());
    out.add(std::move(*key), std::move(*value));
  }
  return ok();
}

void parse_json_body(std::string_view body, Params& out) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it->is_string()) {
      out.add(it.key(), it->get<std::string>());
    } else {
      out.add(it.key(), it->dump());
    }
  }
}

Result<void> parse_multipart(std::string_view content_type, std::string_view body, Params& out) {
  auto boundary = header_attribute(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    return fail(ErrorCode::kInvalidArgument, "multipart body without a valid boundary");
  }
  const std::string delimiter = "--" + *boundary;
  auto pos = body.find(delimiter);
  if (pos == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "multipart body without its boundary");
  pos += delimiter.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return ok();  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return fail(ErrorCode::kInvalidArgument, "malformed multipart delimiter");
    pos += 2;
    auto head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "multipart part without headers");
    std::string_view head = body.substr(pos, head_end - pos);
    auto next = body.find("\r\n" + delimiter, head_end + 4);
    if (next == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "unterminated multipart part");
    std::string_view content = body.substr(head_end + 4, next - head_end - 4);

    std::string disposition, part_type;
    while (!head.empty()) {
      auto eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = lower(trim(line.substr(0, colon)));
      if (name == "content-disposition") disposition = std::string(trim(line.substr(colon + 1)));
      if (name == "content-type") part_type = std::string(trim(line.substr(colon + 1)));
    }
    auto field = header_attribute(disposition, "name");
    if (!field) return fail(ErrorCode::kInvalidArgument, "multipart part without a name");
    auto file_name = header_attribute(disposition, "filename");
    if (file_name) {
      out.add_file(UploadedFile{*field, *file_name, part_type, std::string(content)});
    } else {
      out.add(*field, std::string(content));
    }
    pos = next + 2 + delimiter.size();
  }
}

Result<Params> parse_params(std::string_view target, std::string_view content_type, std::string_view body) {
  Params params;
  auto q = target.find('?');
  if (q != std::string_view::npos) {
    auto parsed = parse_urlencoded(target.substr(q + 1), params);
    if (!parsed) return fail(parsed.error());
  }
  std::string type = lower(content_type);
  if (type.find("multipart/form-data") != std::string::npos) {
    auto parsed = parse_multipart(content_type, body, params);
    if (!parsed) return fail(parsed.error());
  } else if (type.find("application/x-www-form-urlencoded") != std::string::npos) {
    auto parsed = parse_urlencoded(body, params);
    if (!parsed) return fail(parsed.error());
  } else if (type.find("application/json") != std::string::npos) {
    parse_json_body(body, params);
  }
  return params;
}

}  // namespace ms::sandbox
