#include "scrape_reply.hpp"

#include "actorrent/bencode.hpp"
#include "printable.hpp"
#include "tracker_url.hpp"

namespace actorrent {

namespace {

error malformed(const std::string& why) { return error{errc::tracker_reply, "scrape reply: " + why}; }

} // namespace

result<std::string> scrape_url(std::string_view announce_url) {
  auto no_scrape = [&] {
    return error{errc::invalid_argument,
                 "no scrape URL for " + printable(announce_url) +
                   ": its last path component does not start with \"announce\""};
  };
  auto scheme_end = announce_url.find("://");
  if (scheme_end == std::string_view::npos) return no_scrape();
  auto path_start = announce_url.find_first_of("/?#", scheme_end + 3);
  if (path_start == std::string_view::npos || announce_url[path_start] != '/') return no_scrape();
  auto path_end = announce_url.find_first_of("?#", path_start);
  if (path_end == std::string_view::npos) path_end = announce_url.size();
  auto last = announce_url.rfind('/', path_end - 1);
  auto component = announce_url.substr(last + 1, path_end - last - 1);
  if (component.substr(0, 8) != "announce") return no_scrape();
  std::string out(announce_url.substr(0, last + 1));
  out += "scrape";
  out += announce_url.substr(last + 1 + 8);
  return out;
}

std::string build_scrape_request(std::string_view url, const sha1_hash& info_hash) {
  std::string out(url.substr(0, url.find('#')));
  if (out.find('?') == std::string::npos)
    out += '?';
  else if (out.back() != '?' && out.back() != '&')
    out += '&';
  out += "info_hash=" + percent_encode(info_hash.raw());
  return out;
}

result<scrape_counts> parse_scrape_reply(std::string_view body, const sha1_hash& info_hash) {
  bencode::limits lim;
  // A reply for one torrent is a few dozen bytes; these bounds leave room
  // for trackers that add fields while keeping a hostile one cheap.
  lim.strict = false;
  lim.max_depth = 8;
  lim.max_input = 1u << 20;
  lim.max_items = 1u << 14;
  auto decoded = bencode::decode(body, lim);
  if (!decoded) return malformed(decoded.err().message);
  const auto& root = *decoded;
  if (!root.is_dict()) return malformed("top level is not a dictionary");
  if (const auto* f = root.find("failure reason")) {
    if (!f->as_string()) return malformed("\"failure reason\" is not a string");
    return error{errc::tracker_failure, printable(*f->as_string())};
  }
  const auto* files = root.find("files");
  if (files == nullptr || !files->is_dict()) return malformed("no \"files\" dictionary");
  const auto* entry = files->find(info_hash.raw());
  if (entry == nullptr) return malformed("the tracker does not mention this torrent");
  if (!entry->is_dict()) return malformed("the torrent's entry is not a dictionary");
  scrape_counts out;
  for (auto [key, field] : {std::pair{"complete", &out.complete}, std::pair{"incomplete", &out.incomplete},
                            std::pair{"downloaded", &out.downloaded}}) {
    const auto* v = entry->find(key);
    if (v == nullptr || !v->as_int()) return malformed(std::string("no integer \"") + key + "\"");
    if (*v->as_int() < 0) return malformed(std::string("negative \"") + key + "\"");
    *field = *v->as_int();
  }
  return out;
}

} // namespace actorrent
