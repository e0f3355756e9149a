#include "metadata_message.hpp"

#include "actorrent/bencode.hpp"

#include <string>
#include <string_view>

namespace actorrent {

namespace {

std::vector<std::uint8_t> encode_header(metadata_msg type, std::uint32_t piece,
                                        std::int64_t total_size) {
  bencode::dict d;
  d.emplace_back("msg_type", bencode::value(std::int64_t{static_cast<std::uint8_t>(type)}));
  d.emplace_back("piece", bencode::value(std::int64_t{piece}));
  if (type == metadata_msg::data) d.emplace_back("total_size", bencode::value(total_size));
  auto text = bencode::encode(bencode::value(std::move(d)));
  return {text.begin(), text.end()};
}

} // namespace

result<metadata_message> parse_metadata_message(std::span<const std::uint8_t> payload) {
  bencode::limits lim;
  lim.max_depth = 4;
  lim.max_input = payload.size();
  lim.max_items = 64;
  lim.strict = false;
  std::size_t used = 0;
  auto v = bencode::decode_prefix(
    std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), used, lim);
  if (!v) return error{errc::wire_protocol, "metadata message: " + v.err().message};
  const auto* type = v->find("msg_type");
  const auto* piece = v->find("piece");
  if (type == nullptr || !type->is_int() || piece == nullptr || !piece->is_int())
    return error{errc::wire_protocol, "metadata message without an integer msg_type and piece"};
  if (*piece->as_int() < 0 || *piece->as_int() > INT32_MAX)
    return error{errc::wire_protocol,
                 "metadata message names piece " + std::to_string(*piece->as_int())};
  metadata_message out;
  out.piece = static_cast<std::uint32_t>(*piece->as_int());
  switch (*type->as_int()) {
    case 0: out.type = metadata_msg::request; break;
    case 1: out.type = metadata_msg::data; break;
    case 2: out.type = metadata_msg::reject; break;
    default:
      return error{errc::invalid_argument,
                   "metadata message of unknown type " + std::to_string(*type->as_int())};
  }
  if (out.type != metadata_msg::data) return out;
  const auto* total = v->find("total_size");
  if (total == nullptr || !total->is_int() || *total->as_int() <= 0)
    return error{errc::wire_protocol, "metadata data without a positive total_size"};
  out.total_size = *total->as_int();
  out.data = payload.subspan(used);
  if (out.data.size() > metadata_piece_size)
    return error{errc::wire_limit, "metadata piece of " + std::to_string(out.data.size())
                                     + " bytes, more than 16 KiB"};
  return out;
}

std::vector<std::uint8_t> encode_metadata_request(std::uint32_t piece) {
  return encode_header(metadata_msg::request, piece, 0);
}

std::vector<std::uint8_t> encode_metadata_reject(std::uint32_t piece) {
  return encode_header(metadata_msg::reject, piece, 0);
}

std::vector<std::uint8_t> encode_metadata_data(std::uint32_t piece, std::int64_t total_size,
                                               std::span<const std::uint8_t> data) {
  auto out = encode_header(metadata_msg::data, piece, total_size);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

} // namespace actorrent
