#include "peer_client.hpp"
#include "ascii.hpp"

#include <array>
#include <utility>

namespace actorrent {

namespace {

using ascii::is_alnum;
using ascii::is_digit;

constexpr std::array<std::pair<std::string_view, std::string_view>, 12> azureus_codes{{
  {"AR", "actorrent"},
  {"LT", "libtorrent"},
  {"lt", "libTorrent (rakshasa)"},
  {"TR", "Transmission"},
  {"qB", "qBittorrent"},
  {"DE", "Deluge"},
  {"UT", "uTorrent"},
  {"UM", "uTorrent Mac"},
  {"AZ", "Vuze"},
  {"BC", "BitComet"},
  {"KT", "KTorrent"},
  {"BI", "BiglyBT"},
}};

} // namespace

std::string client_from_peer_id(std::string_view id) {
  if (id.size() < 8) return {};
  if (id[0] == '-' && id[7] == '-' && is_alnum(id[1]) && is_alnum(id[2])) {
    auto code = id.substr(1, 2);
    auto version = id.substr(3, 4);
    std::string out(code);
    for (const auto& [c, name] : azureus_codes)
      if (c == code) out = std::string(name);
    std::string v;
    for (char c : version) {
      if (!is_alnum(c)) return out;
      if (!v.empty()) v += '.';
      // Some clients write versions above 9 as letters: A = 10.
      if (is_digit(c))
        v += c;
      else
        v += std::to_string(c >= 'a' ? c - 'a' + 10 : c - 'A' + 10);
    }
    return out + " " + v;
  }
  if (id.substr(0, 3) == "A2-") {
    // aria2: "A2-" major "-" minor "-" patch "-", then random bytes.
    std::string v;
    std::size_t i = 3;
    int parts = 0;
    while (parts < 3 && i < id.size()) {
      std::size_t start = i;
      while (i < id.size() && is_digit(id[i]) && i - start < 3) ++i;
      if (i == start || i >= id.size() || id[i] != '-') return {};
      if (!v.empty()) v += '.';
      v.append(id.substr(start, i - start));
      ++i;
      ++parts;
    }
    return parts == 3 ? "aria2 " + v : std::string{};
  }
  return {};
}

} // namespace actorrent
