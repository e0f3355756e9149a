#include "actorrent/metainfo.hpp"

#include "file_layout.hpp"
#include "metainfo_rules.hpp"
#include "printable.hpp"
#include "tracker_url.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "actorrent/bencode.hpp"

namespace actorrent {

namespace {

using bencode::value;

error invalid(std::string msg) { return error{errc::metainfo_invalid, std::move(msg)}; }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out += '/';
    out += parts[i];
  }
  return out;
}

result<std::int64_t> file_length(const value* v, const std::string& what) {
  if (v == nullptr) return invalid(what + " has no \"length\"");
  const std::int64_t* n = v->as_int();
  if (n == nullptr) return invalid(what + " has a \"length\" that is not an integer");
  if (*n < 0) return invalid(what + " has a negative length " + std::to_string(*n));
  return *n;
}

std::optional<error> add_length(metainfo& m, std::int64_t length, const std::string& what) {
  if (length > std::numeric_limits<std::int64_t>::max() - m.total_length)
    return invalid("total length overflows 64 bits at " + what);
  m.total_length += length;
  return std::nullopt;
}

// A name with ".N" put before its extension, as libtorrent does it:
// "a.txt" -> "a.1.txt", "a" -> "a.1", ".hidden" -> ".1.hidden".
std::string numbered(const std::string& name, std::uint32_t n) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos) return name + "." + std::to_string(n);
  return name.substr(0, dot) + "." + std::to_string(n) + name.substr(dot);
}

// Two entries writing one file, or one entry's file being another's
// directory, would make the data on disk depend on write order. Other
// clients open such torrents, so the later file is renamed the way
// libtorrent renames it ("dir/a.txt" -> "dir/a.1.txt"), within its own
// directory.
std::optional<error> resolve_duplicate_paths(metainfo& m) {
  // Bounds the work a hostile torrent of many equal paths can cause.
  constexpr std::uint32_t max_renames_per_path = 1000;
  std::unordered_set<std::string> dirs, taken;
  for (const file_entry& e : m.files) {
    if (e.pad) continue;
    std::string dir;
    for (std::size_t i = 0; i + 1 < e.path.size(); ++i) {
      if (i != 0) dir += '/';
      dir += e.path[i];
      dirs.insert(dir);
    }
  }
  // Where numbering resumes for each path, so many equal paths cost linear time.
  std::unordered_map<std::string, std::uint32_t> next_number;
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    file_entry& e = m.files[i];
    if (e.pad) continue;
    std::string p = e.path_string();
    if (taken.count(p) != 0 || dirs.count(p) != 0) {
      const std::string original = p;
      const std::string prefix = p.substr(0, p.size() - e.path.back().size());
      auto& n = next_number[original];
      std::string name;
      do {
        if (++n > max_renames_per_path)
          return invalid("more than " + std::to_string(max_renames_per_path) +
                         " files have the path \"" + printable(original) + "\"");
        name = numbered(e.path.back(), n);
      } while (taken.count(prefix + name) != 0 || dirs.count(prefix + name) != 0);
      e.path.back() = name;
      p = prefix + name;
      m.warnings.push_back("file " + std::to_string(i) + " \"" + printable(original) +
                           "\" renamed to \"" + printable(p) + "\": another file has that path");
    }
    taken.insert(std::move(p));
  }
  return std::nullopt;
}

std::optional<error> parse_files(metainfo& m, const bencode::list& files) {
  if (files.empty()) return invalid("\"files\" is an empty list");
  m.files.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const value& f = files[i];
    std::string where = "file " + std::to_string(i);
    if (!f.is_dict()) return invalid(where + " is not a dictionary");
    file_entry e;
    const value* path = f.find("path");
    if (path == nullptr || !path->is_list()) return invalid(where + " has no \"path\" list");
    const bencode::list& comps = *path->as_list();
    if (comps.empty()) return error{errc::unsafe_path, where + " has an empty path"};
    e.path.reserve(comps.size());
    for (const value& c : comps) {
      const std::string* s = c.as_string();
      if (s == nullptr) return invalid(where + " has a path component that is not a string");
      e.path.push_back(*s);
    }
    std::string shown = where + " \"" + printable(join(e.path)) + "\"";
    for (const std::string& c : e.path)
      if (const char* why = unsafe_component(c))
        return error{errc::unsafe_path, "unsafe path in " + shown + ": " + why};
    auto len = file_length(f.find("length"), shown);
    if (!len) return len.err();
    e.length = *len;
    if (const value* attr = f.find("attr"))
      if (const std::string* a = attr->as_string()) e.pad = a->find('p') != std::string::npos;
    e.offset = m.total_length;
    if (auto err = add_length(m, e.length, shown)) return err;
    m.files.push_back(std::move(e));
  }
  return resolve_duplicate_paths(m);
}

std::optional<error> parse_info(metainfo& m, const value& info) {
  if (!info.is_dict()) return invalid("\"info\" is not a dictionary");

  const value* name = info.find("name");
  if (name == nullptr || !name->is_string()) return invalid("\"info\" has no \"name\" string");
  m.name = *name->as_string();
  if (const char* why = unsafe_component(m.name))
    return error{errc::unsafe_path, "unsafe torrent name \"" + printable(m.name) + "\": " + why};

  const value* pieces = info.find("pieces");
  if (pieces == nullptr) {
    if (info.find("meta version") != nullptr || info.find("file tree") != nullptr)
      return invalid("v2-only torrents are not supported (\"" + printable(m.name) +
                     "\" has no v1 \"pieces\")");
    return invalid("\"info\" has no \"pieces\"");
  }
  if (!pieces->is_string()) return invalid("\"pieces\" is not a string");

  const value* pl = info.find("piece length");
  if (pl == nullptr || !pl->is_int()) return invalid("\"info\" has no \"piece length\" integer");
  m.piece_length = *pl->as_int();
  if (m.piece_length <= 0 || m.piece_length > max_piece_length)
    return invalid("piece length " + std::to_string(m.piece_length) +
                   " is outside 1 byte .. 64 MiB");

  const value* length = info.find("length");
  const value* files = info.find("files");
  if (length != nullptr && files != nullptr)
    return invalid("\"info\" has both \"length\" and \"files\"");
  if (files != nullptr) {
    if (!files->is_list()) return invalid("\"files\" is not a list");
    m.multi_file = true;
    if (auto err = parse_files(m, *files->as_list())) return err;
  } else {
    auto len = file_length(length, "single file \"" + printable(m.name) + "\"");
    if (!len) return len.err();
    file_entry e;
    e.path = {m.name};
    e.length = *len;
    m.total_length = *len;
    m.files.push_back(std::move(e));
  }
  if (m.total_length == 0)
    return invalid(std::string(no_data_message));

  const std::string& hashes = *pieces->as_string();
  if (hashes.size() % 20 != 0)
    return invalid("\"pieces\" is " + std::to_string(hashes.size()) +
                   " bytes, not a multiple of 20");
  const std::int64_t expected =
      m.total_length / m.piece_length + (m.total_length % m.piece_length != 0 ? 1 : 0);
  const std::size_t count = hashes.size() / 20;
  if (static_cast<std::uint64_t>(expected) != count)
    return invalid("\"pieces\" holds " + std::to_string(count) + " hashes but " +
                   std::to_string(m.total_length) + " bytes in pieces of " +
                   std::to_string(m.piece_length) + " need " + std::to_string(expected));
  if (count > std::numeric_limits<std::uint32_t>::max())
    return invalid("more than 2^32 - 1 pieces");
  m.piece_hashes.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    m.piece_hashes.push_back(sha1_hash::from_raw(std::string_view(hashes).substr(i * 20, 20)));

  if (const value* priv = info.find("private"))
    if (const std::int64_t* p = priv->as_int()) m.is_private = *p == 1;
  return std::nullopt;
}

// The optional, descriptive keys: a wrong type drops the entry rather than
// the torrent, because the content is still well defined without them.
void parse_extras(metainfo& m, const value& top) {
  if (const value* a = top.find("announce"))
    if (const std::string* s = a->as_string()) m.announce = *s;
  if (const value* al = top.find("announce-list"))
    if (const bencode::list* tiers = al->as_list())
      for (const value& tier : *tiers) {
        const bencode::list* urls = tier.as_list();
        if (urls == nullptr) continue;
        std::vector<std::string> kept;
        for (const value& u : *urls)
          if (const std::string* s = u.as_string(); s != nullptr && !s->empty()) kept.push_back(*s);
        if (!kept.empty()) m.announce_list.push_back(std::move(kept));
      }
  if (const value* d = top.find("creation date"))
    if (const std::int64_t* t = d->as_int()) m.creation_date = *t;
  if (const value* c = top.find("comment"))
    if (const std::string* s = c->as_string()) m.comment = *s;
  if (const value* c = top.find("created by"))
    if (const std::string* s = c->as_string()) m.created_by = *s;
  if (const value* u = top.find("url-list")) {
    // Web seeds are fetched over HTTP(S) only; anything else is named in a
    // note and left out, so one odd entry does not cost the others.
    auto keep = [&m](const std::string& s) {
      if (s.empty()) return;
      auto parsed = parse_url(s);
      if (parsed && (parsed->scheme == "http" || parsed->scheme == "https"))
        m.url_list.push_back(s);
      else
        m.warnings.push_back("web seed " + printable(s) + " skipped: not an http:// or https:// URL");
    };
    if (const std::string* s = u->as_string()) {
      keep(*s);
    } else if (const bencode::list* l = u->as_list()) {
      for (const value& item : *l)
        if (const std::string* s2 = item.as_string()) keep(*s2);
    }
  }
}

} // namespace

std::string file_entry::path_string() const { return join(path); }

std::uint32_t metainfo::piece_count() const {
  return static_cast<std::uint32_t>(piece_hashes.size());
}

std::int64_t metainfo::piece_size(std::uint32_t piece) const {
  const std::uint32_t count = piece_count();
  if (piece >= count) return 0;
  if (piece + 1 < count) return piece_length;
  return total_length - piece_length * static_cast<std::int64_t>(count - 1);
}

std::vector<std::string> metainfo::trackers() const {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& tier : announce_list)
    for (const auto& url : tier)
      if (seen.insert(url).second) out.push_back(url);
  if (out.empty() && !announce.empty()) out.push_back(announce);
  return out;
}

result<metainfo> parse_metainfo(std::string_view torrent_bytes) {
  // Read as other clients read .torrent files: keys out of order are
  // accepted (the info-hash is over the bytes as they are), and so is
  // anything after the top-level dictionary.
  bencode::limits lenient;
  lenient.strict = false;
  std::size_t used = 0;
  auto decoded = bencode::decode_prefix(torrent_bytes, used, lenient);
  if (!decoded) return decoded.err();
  const value& top = *decoded;
  if (!top.is_dict()) return invalid("a .torrent must be a dictionary");
  const value* info = top.find("info");
  if (info == nullptr) return invalid("no \"info\" dictionary");

  metainfo m;
  if (auto err = parse_info(m, *info)) return *err;
  m.raw_info.assign(torrent_bytes.substr(info->begin, info->end - info->begin));
  m.info_hash = sha1(m.raw_info);
  parse_extras(m, top);
  if (used < torrent_bytes.size())
    m.warnings.push_back(std::to_string(torrent_bytes.size() - used) +
                         " bytes after the torrent's dictionary ignored");
  return m;
}

result<metainfo> load_metainfo(const std::filesystem::path& file) {
  const std::string shown = file.string();
  std::error_code ec;
  auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      errc code = ec == std::errc::permission_denied ? errc::permission : errc::io_error;
      return error{code, "cannot read torrent file " + shown + ": " + ec.message()};
    }
    return error{errc::io_error, "torrent file " + shown + " does not exist"};
  }
  if (!std::filesystem::is_regular_file(status))
    return error{errc::io_error, "torrent file " + shown + " is not a regular file"};
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return error{errc::io_error, "cannot read torrent file " + shown + ": " + ec.message()};
  if (size > max_torrent_file)
    return error{errc::bencode_limit, "torrent file " + shown + " is " + std::to_string(size) +
                                          " bytes, over the 64 MiB limit"};

  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int e = errno;
    errc code = e == EACCES || e == EPERM ? errc::permission : errc::io_error;
    return error{code, "cannot open torrent file " + shown + ": " + std::strerror(e)};
  }
  std::string bytes;
  bytes.reserve(static_cast<std::size_t>(size));
  // Read at most one byte past the limit so a file that grew meanwhile is
  // still caught without reading all of it.
  char buf[65536];
  while (in && bytes.size() <= max_torrent_file) {
    in.read(buf, sizeof buf);
    bytes.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) return error{errc::io_error, "cannot read torrent file " + shown};
  if (bytes.size() > max_torrent_file)
    return error{errc::bencode_limit, "torrent file " + shown + " is over the 64 MiB limit"};

  auto parsed = parse_metainfo(bytes);
  if (!parsed) return error{parsed.err().code, shown + ": " + parsed.err().message};
  return parsed;
}

} // namespace actorrent
