#include "krpc.hpp"

#include "actorrent/bencode.hpp"
#include "printable.hpp"

namespace actorrent::krpc {

const char* to_string(method m) noexcept {
  switch (m) {
    case method::ping: return "ping";
    case method::find_node: return "find_node";
    case method::get_peers: return "get_peers";
    case method::announce_peer: return "announce_peer";
    case method::unknown: break;
  }
  return "unknown";
}

namespace {

using bencode::value;

error bad(std::string why) { return error{errc::krpc_message, "KRPC: " + std::move(why)}; }

// Small and shallow: a message is a dict holding a dict holding lists of
// strings at most (depth 3), with a few dozen values.
bencode::limits wire_limits() {
  bencode::limits lim;
  lim.max_depth = 4;
  lim.max_input = max_datagram;
  lim.max_items = 512;
  lim.strict = true;
  return lim;
}

dht::endpoint endpoint_at(std::string_view s) {
  dht::endpoint e;
  for (std::size_t i = 0; i < 4; ++i) e.ip[i] = static_cast<std::uint8_t>(s[i]);
  e.port = static_cast<std::uint16_t>((static_cast<std::uint8_t>(s[4]) << 8) |
                                      static_cast<std::uint8_t>(s[5]));
  return e;
}

const std::string* string_field(const value& d, std::string_view key) {
  const value* v = d.find(key);
  return v != nullptr ? v->as_string() : nullptr;
}

result<dht::node_id> id_field(const value& d, std::string_view key) {
  const std::string* s = string_field(d, key);
  std::string name(key);
  if (s == nullptr) return bad("missing " + name);
  if (s->size() != 20) return bad(name + " of " + std::to_string(s->size()) + " bytes, not 20");
  return dht::node_id::from_raw(*s);
}

method method_of(std::string_view name) {
  if (name == "ping") return method::ping;
  if (name == "find_node") return method::find_node;
  if (name == "get_peers") return method::get_peers;
  if (name == "announce_peer") return method::announce_peer;
  return method::unknown;
}

result<message> decode_query(const value& top, std::string tid) {
  const std::string* q = string_field(top, "q");
  if (q == nullptr) return bad("query without a method name");
  if (q->empty() || q->size() > max_method_name) return bad("method name of " + std::to_string(q->size()) + " bytes");
  const value* a = top.find("a");
  if (a == nullptr || !a->is_dict()) return bad("query without arguments");
  query out;
  out.transaction_id = std::move(tid);
  out.name = method_of(*q);
  auto id = id_field(*a, "id");
  if (!id) return id.err();
  out.sender = *id;
  if (const value* ro = top.find("ro"); ro != nullptr && ro->as_int() != nullptr && *ro->as_int() == 1)
    out.read_only = true;
  switch (out.name) {
    case method::ping:
    case method::unknown:
      break;
    case method::find_node: {
      auto t = id_field(*a, "target");
      if (!t) return t.err();
      out.target = *t;
      break;
    }
    case method::get_peers:
    case method::announce_peer: {
      auto t = id_field(*a, "info_hash");
      if (!t) return t.err();
      out.target = *t;
      if (out.name == method::get_peers) break;
      const value* implied = a->find("implied_port");
      if (implied != nullptr) {
        if (implied->as_int() == nullptr) return bad("\"implied_port\" is not an integer");
        out.implied_port = *implied->as_int() != 0;
      }
      const value* port = a->find("port");
      if (port != nullptr && port->as_int() != nullptr && *port->as_int() >= 1 && *port->as_int() <= 65535)
        out.port = static_cast<std::uint16_t>(*port->as_int());
      else if (!out.implied_port)
        return bad("announce_peer without a port in 1..65535");
      const std::string* token = string_field(*a, "token");
      if (token == nullptr || token->empty() || token->size() > max_token)
        return bad("announce_peer without a token of 1.." + std::to_string(max_token) + " bytes");
      out.token = *token;
      break;
    }
  }
  return message{std::move(out)};
}

result<message> decode_response(const value& top, std::string tid) {
  const value* r = top.find("r");
  if (r == nullptr || !r->is_dict()) return bad("response without a body");
  response out;
  out.transaction_id = std::move(tid);
  auto id = id_field(*r, "id");
  if (!id) return id.err();
  out.sender = *id;
  if (const value* n = r->find("nodes")) {
    const std::string* s = n->as_string();
    if (s == nullptr || s->size() % 26 != 0) return bad("\"nodes\" is not a string of 26-byte entries");
    if (s->size() / 26 > max_nodes)
      return bad(std::to_string(s->size() / 26) + " nodes, more than " + std::to_string(max_nodes));
    for (std::size_t off = 0; off < s->size(); off += 26) {
      node_info ni{dht::node_id::from_raw(std::string_view(*s).substr(off, 20)),
                   endpoint_at(std::string_view(*s).substr(off + 20, 6))};
      if (ni.address.port != 0) out.nodes.push_back(ni);
    }
  }
  if (const value* v = r->find("values")) {
    const bencode::list* l = v->as_list();
    if (l == nullptr) return bad("\"values\" is not a list");
    if (l->size() > max_values)
      return bad(std::to_string(l->size()) + " values, more than " + std::to_string(max_values));
    for (const value& e : *l) {
      const std::string* s = e.as_string();
      // 18 bytes is an IPv6 peer (BEP 32): well formed, but not ours to dial.
      if (s == nullptr || (s->size() != 6 && s->size() != 18)) return bad("a value that is not a compact peer");
      if (s->size() != 6) continue;
      auto ep = endpoint_at(*s);
      if (ep.port != 0) out.values.push_back(ep);
    }
  }
  if (const value* t = r->find("token")) {
    const std::string* s = t->as_string();
    if (s == nullptr || s->empty() || s->size() > max_token)
      return bad("token is not a string of 1.." + std::to_string(max_token) + " bytes");
    out.token = *s;
  }
  if (const value* ip = top.find("ip")) {
    const std::string* s = ip->as_string();
    if (s == nullptr || (s->size() != 6 && s->size() != 18)) return bad("\"ip\" is not a compact address");
    if (s->size() == 6) out.requester = endpoint_at(*s);
  }
  return message{std::move(out)};
}

result<message> decode_error(const value& top, std::string tid) {
  const value* e = top.find("e");
  const bencode::list* l = e != nullptr ? e->as_list() : nullptr;
  if (l == nullptr || l->size() != 2 || (*l)[0].as_int() == nullptr || (*l)[1].as_string() == nullptr)
    return bad("error without [code, message]");
  error_message out;
  out.transaction_id = std::move(tid);
  out.code = *(*l)[0].as_int();
  std::string_view text = *(*l)[1].as_string();
  out.text = printable(text.substr(0, max_error_text));
  return message{std::move(out)};
}

} // namespace

result<message> decode(std::string_view datagram) {
  if (datagram.size() > max_datagram)
    return bad("datagram of " + std::to_string(datagram.size()) + " bytes, more than " +
               std::to_string(max_datagram));
  auto top = bencode::decode(datagram, wire_limits());
  if (!top) return top.err();
  if (!top->is_dict()) return bad("message is not a dictionary");
  const std::string* t = string_field(*top, "t");
  if (t == nullptr || t->empty() || t->size() > max_transaction_id)
    return bad("transaction id is not a string of 1.." + std::to_string(max_transaction_id) + " bytes");
  const std::string* y = string_field(*top, "y");
  if (y == nullptr || y->size() != 1) return bad("message type is not one of q, r, e");
  switch ((*y)[0]) {
    case 'q': return decode_query(*top, *t);
    case 'r': return decode_response(*top, *t);
    case 'e': return decode_error(*top, *t);
    default: return bad("message type is not one of q, r, e");
  }
}

std::optional<std::string> transaction_id_of(std::string_view datagram) {
  if (datagram.size() > max_datagram) return std::nullopt;
  auto top = bencode::decode(datagram, wire_limits());
  if (!top || !top->is_dict()) return std::nullopt;
  const std::string* t = string_field(*top, "t");
  if (t == nullptr || t->empty() || t->size() > max_transaction_id) return std::nullopt;
  return *t;
}

std::string encode_compact_endpoint(const dht::endpoint& e) {
  std::string s(6, '\0');
  for (std::size_t i = 0; i < 4; ++i) s[i] = static_cast<char>(e.ip[i]);
  s[4] = static_cast<char>(e.port >> 8);
  s[5] = static_cast<char>(e.port & 0xff);
  return s;
}

std::string encode_compact_nodes(const std::vector<node_info>& nodes) {
  std::string s;
  s.reserve(nodes.size() * 26);
  for (std::size_t i = 0; i < nodes.size() && i < max_nodes; ++i) {
    s += nodes[i].id.raw();
    s += encode_compact_endpoint(nodes[i].address);
  }
  return s;
}

namespace {

struct encoder {
  std::string operator()(const query& q) const {
    bencode::dict args;
    args.emplace_back("id", value(q.sender.raw()));
    switch (q.name) {
      case method::ping:
      case method::unknown:
        break;
      case method::find_node:
        args.emplace_back("target", value(q.target.raw()));
        break;
      case method::get_peers:
        args.emplace_back("info_hash", value(q.target.raw()));
        break;
      case method::announce_peer:
        args.emplace_back("info_hash", value(q.target.raw()));
        if (q.implied_port) args.emplace_back("implied_port", value(std::int64_t{1}));
        args.emplace_back("port", value(std::int64_t{q.port}));
        args.emplace_back("token", value(q.token));
        break;
    }
    // bencode::encode sorts the keys.
    bencode::dict top;
    top.emplace_back("a", value(std::move(args)));
    top.emplace_back("q", value(to_string(q.name)));
    top.emplace_back("t", value(q.transaction_id));
    top.emplace_back("y", value("q"));
    if (q.read_only) top.emplace_back("ro", value(std::int64_t{1}));
    return bencode::encode(value(std::move(top)));
  }

  std::string operator()(const response& r) const {
    bencode::dict body;
    body.emplace_back("id", value(r.sender.raw()));
    if (!r.nodes.empty()) body.emplace_back("nodes", value(encode_compact_nodes(r.nodes)));
    if (r.token) body.emplace_back("token", value(*r.token));
    if (!r.values.empty()) {
      bencode::list vals;
      for (std::size_t i = 0; i < r.values.size() && i < max_values; ++i)
        vals.emplace_back(encode_compact_endpoint(r.values[i]));
      body.emplace_back("values", value(std::move(vals)));
    }
    bencode::dict top;
    top.emplace_back("r", value(std::move(body)));
    top.emplace_back("t", value(r.transaction_id));
    top.emplace_back("y", value("r"));
    if (r.requester) top.emplace_back("ip", value(encode_compact_endpoint(*r.requester)));
    return bencode::encode(value(std::move(top)));
  }

  std::string operator()(const error_message& e) const {
    bencode::list body;
    body.emplace_back(e.code);
    body.emplace_back(e.text.substr(0, max_error_text));
    bencode::dict top;
    top.emplace_back("e", value(std::move(body)));
    top.emplace_back("t", value(e.transaction_id));
    top.emplace_back("y", value("e"));
    return bencode::encode(value(std::move(top)));
  }
};

} // namespace

std::string encode(const message& m) { return std::visit(encoder{}, m); }

} // namespace actorrent::krpc
