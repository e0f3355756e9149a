// Errors as values: every boundary of actorrent (parsers, storage, network,
// actors) reports failure as an `error` with a code a program can branch on
// and a message a person can act on.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace actorrent {

/// What went wrong, coarse enough to branch on.
enum class errc : std::uint8_t {
  none = 0,
  bencode_syntax,    ///< malformed bencoding
  bencode_limit,     ///< bencoding over a size or depth bound
  metainfo_invalid,  ///< a .torrent that breaks BEP 3
  unsafe_path,       ///< a file path that would escape the download directory (or a symlink in it)
  wire_protocol,     ///< a peer broke the wire protocol
  wire_limit,        ///< a peer message over a length bound
  tracker_http,      ///< the tracker's HTTP exchange failed
  tracker_reply,     ///< the tracker's reply is malformed
  tracker_failure,   ///< the tracker answered with a failure reason
  io_error,          ///< a file or socket operation failed
  disk_full,         ///< no space left on the device
  permission,        ///< the operating system refused access
  timeout,           ///< a deadline passed
  cancelled,         ///< the operation was stopped on purpose
  invalid_argument,  ///< a caller passed something out of range
  resume_invalid,    ///< a fast-resume file that is malformed or unusable
  krpc_message,      ///< a DHT (KRPC, BEP 5) message that is malformed or over a bound
};

/// Returns a short, stable name for `code` ("bencode_syntax", ...).
const char* to_string(errc code) noexcept;

/// A failure: a code plus a human-readable message (which names the byte
/// offset, file or peer concerned). A default-constructed error means success.
struct error {
  errc code = errc::none;
  std::string message;

  error() = default;
  error(errc c, std::string msg) : code(c), message(std::move(msg)) {}

  explicit operator bool() const noexcept { return code != errc::none; }

  /// "code: message", for logs and the command line.
  std::string to_string() const;
};

/// Either a value or an error. Small on purpose: C++20 has no std::expected.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  result(error err) : data_(std::in_place_index<1>, std::move(err)) {}
  result(errc code, std::string msg)
    : data_(std::in_place_index<1>, actorrent::error(code, std::move(msg))) {}

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The failure. Precondition: !has_value().
  const actorrent::error& err() const { return std::get<1>(data_); }

private:
  std::variant<T, actorrent::error> data_;
};

} // namespace actorrent
