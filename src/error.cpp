#include "actorrent/error.hpp"

namespace actorrent {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::none: return "none";
    case errc::bencode_syntax: return "bencode_syntax";
    case errc::bencode_limit: return "bencode_limit";
    case errc::metainfo_invalid: return "metainfo_invalid";
    case errc::unsafe_path: return "unsafe_path";
    case errc::wire_protocol: return "wire_protocol";
    case errc::wire_limit: return "wire_limit";
    case errc::tracker_http: return "tracker_http";
    case errc::tracker_reply: return "tracker_reply";
    case errc::tracker_failure: return "tracker_failure";
    case errc::io_error: return "io_error";
    case errc::disk_full: return "disk_full";
    case errc::permission: return "permission";
    case errc::timeout: return "timeout";
    case errc::cancelled: return "cancelled";
    case errc::invalid_argument: return "invalid_argument";
    case errc::resume_invalid: return "resume_invalid";
    case errc::krpc_message: return "krpc_message";
  }
  return "unknown";
}

std::string error::to_string() const {
  std::string out = actorrent::to_string(code);
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

} // namespace actorrent
