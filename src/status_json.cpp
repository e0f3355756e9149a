#include "status_json.hpp"

#include "json_writer.hpp"

namespace actorrent {

namespace {

void write_torrent(json_writer& w, const torrent_status& st) {
  const auto& p = st.progress;
  w.begin_object();
  w.key("name").value(st.name);
  w.key("info_hash").value(st.info_hash.hex());
  w.key("state").value(to_string(st.state));
  double progress = p.bytes_total > 0 ? static_cast<double>(p.bytes_have) / p.bytes_total : 1.0;
  // With a file selection, of what it wants.
  if (p.total_wanted > 0 && p.total_wanted < p.bytes_total)
    progress = static_cast<double>(p.total_wanted_done) / static_cast<double>(p.total_wanted);
  if (st.checking && st.to_check > 0)
    progress = static_cast<double>(st.checked_pieces) / st.to_check;
  w.key("progress").value(progress);
  w.key("bytes_done").value(p.bytes_have);
  w.key("bytes_total").value(p.bytes_total);
  w.key("pieces_done").value(p.pieces_have);
  w.key("pieces_total").value(p.pieces_total);
  w.key("downloaded").value(p.downloaded);
  w.key("uploaded").value(st.uploaded);
  w.key("wasted").value(p.wasted + st.discarded);
  w.key("download_rate").value(st.download_rate);
  w.key("upload_rate").value(st.upload_rate);
  w.key("peers_connected").value(st.peers_connected);
  w.key("peers_known").value(st.peers_known);
  w.key("elapsed").value(st.elapsed);
  w.key("bytes_wanted").value(p.total_wanted);
  w.key("bytes_wanted_done").value(p.total_wanted_done);

  w.key("peers").begin_array();
  for (const auto& c : st.connections) {
    w.begin_object();
    w.key("address").value(c.address);
    w.key("client").value(c.client);
    w.key("download_rate").value(c.download_rate);
    w.key("upload_rate").value(c.upload_rate);
    w.key("downloaded").value(c.downloaded);
    w.key("uploaded").value(c.uploaded);
    // One letter per flag, for a compact column; the booleans for programs.
    std::string flags;
    if (c.incoming) flags += 'I';
    if (!c.handshaken) flags += 'C';
    if (c.interested) flags += 'i';
    if (c.snubbed) flags += 'S';
    if (c.seed) flags += 's';
    w.key("flags").value(flags);
    w.key("incoming").value(c.incoming);
    w.key("handshaken").value(c.handshaken);
    w.key("interested").value(c.interested);
    w.key("snubbed").value(c.snubbed);
    w.key("seed").value(c.seed);
    w.end_object();
  }
  w.end_array();

  w.key("files").begin_array();
  for (const auto& f : st.files) {
    w.begin_object();
    w.key("path").value(f.path);
    w.key("size").value(f.size);
    w.key("done").value(f.bytes_have);
    w.key("priority").value(static_cast<std::uint32_t>(f.priority));
    w.end_object();
  }
  w.end_array();

  w.key("trackers").begin_array();
  for (const auto& t : st.trackers) {
    w.begin_object();
    w.key("url").value(t.url);
    w.key("last_result").value(t.last_result);
    w.key("message").value(t.message);
    w.key("next_announce");
    if (t.next_announce >= 0)
      w.value(t.next_announce);
    else
      w.null();
    w.key("peers").value(t.peers);
    w.key("seeders");
    if (t.seeders >= 0)
      w.value(t.seeders);
    else
      w.null();
    w.key("leechers");
    if (t.leechers >= 0)
      w.value(t.leechers);
    else
      w.null();
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

} // namespace

std::string torrents_json(const std::vector<torrent_status>& torrents) {
  json_writer w;
  w.begin_object().key("torrents").begin_array();
  for (const auto& st : torrents) write_torrent(w, st);
  w.end_array().end_object();
  return w.take();
}

} // namespace actorrent
