#include "messages.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace actorrent {

caf::error to_caf_error(const error& err) {
  return caf::error(static_cast<std::uint8_t>(err.code), error_category,
                    caf::make_message(err.message));
}

error from_caf_error(const caf::error& err) {
  if (!err) return {};
  if (err.category() == error_category) {
    std::string msg;
    if (err.context().match_elements<std::string>())
      msg = err.context().get_as<std::string>(0);
    return {static_cast<errc>(err.code()), msg};
  }
  if (err.category() == caf::atom("system")
      && err.code() == static_cast<std::uint8_t>(caf::sec::request_timeout))
    return {errc::timeout, "request timed out"};
  return {errc::io_error, "actor error " + std::to_string(err.code())};
}

} // namespace actorrent
