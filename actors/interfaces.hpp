// Every typed actor interface of actorrent, in one place: read this file to
// see who talks to whom. Ownership:
//   torrent_actor       the peer list, the connections and the other actors of one torrent
//   piece_manager_actor all piece and block state (which pieces we have, who was asked for what)
//   disk_writer_actor   the files, and blocks waiting for their piece to be hashed
//   tracker_actor       the announce schedule of one torrent
//   peer_actor          one remote peer's wire state (choke/interest, requests in flight)
//   magnet_actor        a magnet link's metadata phase, then the torrent it starts
//   web_seed_actor      one web seed's range requests in progress (BEP 19)
//   dht_actor           the session's DHT node (BEP 5): its routing table, socket and searches
#pragma once

#include "messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace actorrent {

/// What the PieceManager and the torrent may tell a peer. A mock peer (the
/// simulation harness) implements exactly this.
using peer_actor = caf::typed_actor<
  // End-game: another peer delivered this block first. Send CANCEL on the
  // wire and forget the request.
  caf::reacts_to<cancel_atom, block_ref>,
  // We verified this piece: tell the remote peer (HAVE).
  caf::reacts_to<have_atom, std::uint32_t>,
  // Blocks went back to the pool: a peer that found no work may ask again.
  caf::reacts_to<wake_atom>,
  // The PieceManager's answer to want: the blocks to request (empty:
  // nothing to do now; a wake follows when that changes). An answer may
  // come late; blocks a peer cannot use go back with drop.
  caf::reacts_to<work_atom, std::vector<block_ref>>,
  // The choker's verdict: stop or start serving this peer's requests.
  caf::reacts_to<choke_atom>,
  caf::reacts_to<unchoke_atom>,
  // Close the connection and exit.
  caf::reacts_to<stop_atom>>;

/// A peer backed by a TCP connection: the peer interface plus the events its
/// socket (on the network thread) and its own timer send it.
using peer_connection_actor = peer_actor::extend<
  // The outgoing connection is established.
  caf::reacts_to<connected_atom>,
  // A chunk of bytes arrived; acknowledge it to the socket once decoded.
  caf::reacts_to<data_atom, std::vector<std::uint8_t>>,
  // The same, split: the bytes without the PIECE payloads, and the payloads,
  // each read into its own buffer (tcp_connection::split_payloads).
  caf::reacts_to<data_atom, std::vector<std::uint8_t>, std::vector<block_buffer>>,
  // The socket closed (the text says why).
  caf::reacts_to<closed_atom, std::string>,
  // Once a second: request timeouts, keep-alives, pipeline sizing.
  caf::reacts_to<tick_atom>,
  // The socket's send queue drained: serve more requests.
  caf::reacts_to<drained_atom>,
  // Ask the remote for this piece of the metadata (a connection that
  // fetches metadata; the answer goes to its metadata_owner_actor).
  caf::reacts_to<metadata_atom, std::uint32_t>>;

/// A web seed (BEP 19): the peer interface plus its own events.
using web_seed_actor = peer_actor::extend<
  // A range request ended (request id; outcome: 1 the bytes asked for, 2 a
  // redirect to the Location in the text, 3 a failure the text explains,
  // 4 not answered because the connection ended: send it again; text).
  caf::reacts_to<http_atom, std::uint64_t, std::int32_t, std::string>,
  // The pause after a failure is over: ask for work again.
  caf::reacts_to<tick_atom>>;

/// What a connection that fetches metadata (BEP 9) tells its owner, the
/// metadata phase of a magnet link.
using metadata_owner_actor = caf::typed_actor<
  // The peer has metadata of this many bytes (its extension handshake).
  caf::reacts_to<metadata_atom, peer_key, std::int64_t>,
  // A metadata piece we asked for: index, the total size the peer states,
  // the bytes.
  caf::reacts_to<metadata_atom, peer_key, std::uint32_t, std::int64_t, std::vector<std::uint8_t>>,
  // The peer refused that piece, or did not send it in time.
  caf::reacts_to<reject_atom, peer_key, std::uint32_t>>;

/// The only owner of piece state. Peers ask it for work and report blocks.
using piece_manager_actor = caf::typed_actor<
  // A peer finished its handshake; the text is its host, to whom strikes
  // for bad data are charged (they outlive the connection). Replies with
  // our bitfield (wire bytes; empty when we have nothing) for the peer to send.
  caf::replies_to<join_atom, peer_key, std::string, peer_actor>::with<std::vector<std::uint8_t>>,
  // The peer's validated bitfield. Replies whether it has pieces we lack.
  caf::replies_to<bitfield_atom, peer_key, std::vector<std::uint8_t>>::with<bool>,
  // The peer announced a piece (HAVE). Replies whether it has pieces we lack.
  caf::replies_to<have_atom, peer_key, std::uint32_t>::with<bool>,
  // The peer is unchoked and has room for up to N more requests. The
  // answer is a work message to the peer, not a reply: a busy PieceManager
  // makes a peer wait, never give up.
  caf::reacts_to<want_atom, peer_key, std::uint32_t>,
  // A requested block arrived, with its payload.
  caf::reacts_to<block_atom, peer_key, block_ref, block_buffer>,
  // Requests the peer gave up on (choked, timed out, rejected): back to the pool.
  caf::reacts_to<drop_atom, peer_key, std::vector<block_ref>>,
  // The peer chokes us but serves these pieces all the same (its
  // allowed-fast set, BEP 6): like want, with blocks of these pieces only.
  caf::reacts_to<want_atom, peer_key, std::uint32_t, std::vector<std::uint32_t>>,
  // The peer suggests this piece (BEP 6): picked first while we want it.
  caf::reacts_to<suggest_atom, peer_key, std::uint32_t>,
  // The peer disconnected: every request it had is back in the pool.
  caf::reacts_to<leave_atom, peer_key>,
  // Progress, for the torrent's status and for tests.
  caf::replies_to<status_atom>::with<torrent_progress>,
  // Our verified pieces (wire bitfield), for per-file progress.
  caf::replies_to<have_atom>::with<std::vector<std::uint8_t>>,
  // Save the resume data now (on shutdown); replies once it is on disk.
  caf::replies_to<resume_atom>::with<bool>,
  // A new file selection as piece priorities (0: skip). Replies whether
  // every wanted piece is verified now; when the answer is false for a
  // download that was complete, done_atom follows once it is again.
  caf::replies_to<priority_atom, std::vector<std::uint8_t>>::with<bool>>;

/// The only owner of the files. Blocks are held in memory until their piece
/// is complete, then hashed; only verified data is written.
using disk_writer_actor = caf::typed_actor<
  // A block of a piece in progress (piece, offset in piece, data).
  caf::reacts_to<write_atom, std::uint32_t, std::uint32_t, block_buffer>,
  // All blocks of the piece were sent: hash them, and write the piece when
  // the hash matches. Replies with the verdict (passed: written; failed: bad
  // data, discarded, with each block's digest; the flag asks for the digests
  // of a passing piece too), or an error (the disk failed; it names the file).
  caf::replies_to<verify_atom, std::uint32_t, bool>::with<piece_verdict>,
  // Read (piece, offset, length) from disk, for uploads.
  caf::replies_to<read_atom, std::uint32_t, std::uint32_t, std::uint32_t>::with<std::vector<std::uint8_t>>,
  // Which pieces a full check must hash (those that can hold data: missing
  // and empty files are skipped), ignoring resume data. For a recheck.
  caf::replies_to<plan_atom>::with<std::vector<std::uint32_t>>,
  // Hash these pieces as they are on disk (start-up check). Replies with the
  // ones that match.
  caf::replies_to<check_atom, std::vector<std::uint32_t>>::with<std::vector<std::uint32_t>>,
  // Make written data durable, then record these verified pieces (wire
  // bitfield) in the resume file.
  caf::replies_to<resume_atom, std::vector<std::uint8_t>>::with<bool>>;

/// The far end of a connection that has no socket: a mock peer of the
/// simulation harness, in this process or another. It gets the bytes our
/// peer actor sends and answers the sender as a socket would, with
/// (data_atom, bytes) and, when it leaves, (closed_atom, why).
using wire_peer_actor = caf::typed_actor<
  // Bytes our side sent.
  caf::reacts_to<wire_atom, std::vector<std::uint8_t>>,
  // Our side closed the connection.
  caf::reacts_to<stop_atom>>;

/// What the PieceManager tells its torrent, and nothing more.
using piece_manager_owner_actor = caf::typed_actor<
  // Every piece is verified and flushed to disk.
  caf::reacts_to<done_atom>,
  // Something the torrent cannot go on without failed (e.g. the disk).
  caf::reacts_to<fatal_atom, std::string>,
  // This host sent bad data too often: drop every connection to it and
  // never connect to it again (any port).
  caf::reacts_to<ban_atom, std::string>,
  // A piece passed (true) or failed (false) its hash check.
  caf::reacts_to<piece_atom, std::uint32_t, bool>>;

/// Announces one torrent to its trackers (BEP 3, BEP 12 tiers).
using tracker_actor = caf::typed_actor<
  // The start-up check ended: the counters are true now. The first announce
  // waits for this (bounded by tracker_config::ready_timeout); when it went
  // out before, a regular announce follows with the true counters.
  caf::reacts_to<ready_atom>,
  // The download finished while running: announce "completed" (never sent
  // for a torrent that was complete at start).
  caf::reacts_to<completed_atom>,
  // Announce "stopped" (bounded in time), then reply and exit.
  caf::replies_to<stop_atom>::with<bool>,
  // The announce timer fired.
  caf::reacts_to<tick_atom>,
  // An HTTP exchange finished (request id, status code, body or error text;
  // status 0 means the exchange itself failed).
  caf::reacts_to<http_atom, std::uint64_t, std::int32_t, std::string>,
  // A UDP tracker exchange (BEP 15) finished: request id, what went wrong
  // (empty when the tracker accepted), the interval in seconds it asks
  // for, and the peers it gave.
  caf::reacts_to<udp_atom, std::uint64_t, std::string, std::int32_t, std::vector<peer_endpoint>>>;

/// What a tracker actor needs from its torrent, and nothing more.
using tracker_owner_actor = caf::typed_actor<
  // New peer addresses (from a tracker, or given by the user).
  caf::reacts_to<peers_atom, std::vector<peer_endpoint>>,
  // A tracker failed or warned: its URL (empty: about every tracker), and
  // what happened, for people.
  caf::reacts_to<tracker_atom, std::string, std::string>,
  // A tracker accepted an announce: its URL, the interval in seconds, how
  // many peers it gave (they follow as peers_atom), and its seeder and
  // leecher counts (-1 when it did not say).
  caf::reacts_to<tracker_atom, std::string, std::int32_t, std::uint32_t, std::int64_t,
                 std::int64_t>,
  // The transfer counters right now; asked before every announce so that
  // each one carries what is true when it is sent.
  caf::replies_to<stats_atom>::with<transfer_stats>>;

/// What the peer router needs of a torrent: the connections it accepts for it.
using incoming_peer_actor = caf::typed_actor<
  // An accepted connection whose handshake names this torrent (the 68
  // handshake bytes); the torrent decides whether to take it.
  caf::reacts_to<incoming_atom, connection_ptr, std::vector<std::uint8_t>>>;

/// One torrent: starts its PieceManager, DiskWriter, tracker and peers, keeps
/// the peer list, and reports to its owner.
using torrent_actor = tracker_owner_actor::extend_with<piece_manager_owner_actor>
                        ::extend_with<incoming_peer_actor>::extend_with<torrent_control>::extend<
  // A peer completed its handshake (the connection is useful); its peer id.
  caf::reacts_to<connected_atom, peer_key, std::string>,
  // Once a second: connect to known peers, report status.
  caf::reacts_to<tick_atom>,
  // A peer's transfer figures and interest, once a second and on changes.
  caf::reacts_to<peer_stats_atom, peer_key, peer_stats>,
  // Peer exchange (BEP 11), never for a private torrent. A peer's PEX is
  // due: reply with the addresses of the other peers we are connected to
  // (where they accept connections) and their BEP 11 flags, one per address.
  caf::replies_to<pex_atom, peer_key>::with<std::vector<peer_endpoint>, std::vector<std::uint8_t>>,
  // Addresses a peer told us of with PEX, already checked and bounded.
  caf::reacts_to<pex_atom, peer_key, std::vector<peer_endpoint>>,
  // The port an incoming peer listens on (its extension handshake), so it
  // can be named to others and is not dialled again.
  caf::reacts_to<pex_atom, peer_key, std::uint16_t>,
  // Stop (the session is closing): save resume data, announce "stopped",
  // close every connection, reply with the final figures, exit.
  caf::replies_to<stop_atom>::with<torrent_status>>;

/// A torrent added from a magnet link: fetches the metainfo from the link's
/// peers and trackers, then starts the torrent and answers for it (its
/// control requests are passed on; it exits when the torrent does).
using magnet_actor = metadata_owner_actor::extend_with<tracker_owner_actor>
                       ::extend_with<torrent_control>::extend<
  // Once a second: connect, ask for pieces, give up after the stall timeout.
  caf::reacts_to<tick_atom>,
  // Stop (the session is closing); replies with the torrent's final figures.
  caf::replies_to<stop_atom>::with<torrent_status>>;

/// Routes accepted connections to the torrent their handshake names. One per
/// session.
using peer_router_actor = caf::typed_actor<
  // An accepted connection and the handshake it opened with.
  caf::reacts_to<incoming_atom, connection_ptr, std::vector<std::uint8_t>>,
  // A torrent is ready for incoming peers (it is forgotten when it exits).
  // While it runs, another torrent registering its info-hash is refused
  // (logged): the first keeps its peers.
  caf::reacts_to<register_atom, sha1_hash, incoming_peer_actor>>;

/// The session's DHT node (BEP 5). Torrents and magnet links are put in
/// its care by the session; the peers it finds go to them as a tracker's do.
using dht_actor = caf::typed_actor<
  // Find peers for this info-hash and announce that we accept connections
  // on this port, now and every 15 minutes while the owner lives; the peers
  // go to the owner as peers_atom. Asking again for the same info-hash
  // replaces the owner (a magnet link's torrent takes its place).
  caf::reacts_to<peers_atom, sha1_hash, std::uint16_t, tracker_owner_actor>,
  // Stop searching for and announcing this info-hash.
  caf::reacts_to<leave_atom, sha1_hash>,
  // A datagram arrived on the DHT socket: sender's IPv4 address (a
  // big-endian number), its port, the bytes.
  caf::reacts_to<udp_atom, std::uint32_t, std::uint16_t, std::string>,
  // A node may listen here (a bootstrap node, a peer's PORT message): ping
  // it, so it joins the table when it answers.
  caf::reacts_to<join_atom, peer_endpoint>,
  // The DHT's timer: queries time out, lookups move on, searches recur.
  caf::reacts_to<tick_atom>,
  // Save the table (when there is a state file), close the socket, reply, exit.
  caf::replies_to<stop_atom>::with<bool>>;

} // namespace actorrent
