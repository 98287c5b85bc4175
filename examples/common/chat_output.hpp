// SPDX-License-Identifier: BSL-1.0
// What tlvcast-chat prints: its client's events as JSON lines of the schema (docs/CLI.md) or as
// text for people, and its errors, which always go to stderr too.
#pragma once

#include "common/json.hpp"
#include "common/profile.hpp"

#include <tlvcast/core/events.hpp>
#include <tlvcast/profile/group.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>

namespace tlvcast::examples {

/// Prints the chat's output. Lines go out whole (print_line); call it from the chat's io thread.
/// It refers to the group options it is given, which must outlive it.
class chat_output {
public:
    /// `json`: JSON lines; `quiet` (-q, people's text only): no status lines (registration, joins and
    /// leaves, epochs, first-use trust), while messages, warnings and errors stay. `group`: the group
    /// profile, whose members are shown by fingerprint with their standing under `group_options`.
    chat_output(bool json, bool quiet, bool group, const crypto::fingerprint& self,
                const tlvcast::profile::group::options& group_options)
        : json_(json), quiet_(quiet), group_(group), self_(self), group_options_(group_options)
    {
    }

    /// Registered with the relay at `relay` (`relay_identity`: its fingerprint, where the profile
    /// proves one); `local`: this client's address as the relay sees it; `data_group`: where a
    /// multicast member of the group profile listens, else empty.
    void registered(const std::string& local, const core::client_event& e, const std::string& data_group) const
    {
        if (json_) {
            auto o = json_object::event("registered");
            o.str("local", local).str("relay", e.peer.to_string());
            if (e.identity)
                o.str("relay_fingerprint", hex(*e.identity));
            o.str("self", hex(self_));
            if (group_) {
                o.str("delivery", data_group.empty() ? "unicast" : "multicast");
                if (!data_group.empty())
                    o.str("data_group", data_group);
            }
            print_line(o.text());
            return;
        }
        if (quiet_)
            return;
        print_line("* registered as " + local + " [" + short_hex(self_) + "] with the relay at " + e.peer.to_string() +
                   (e.identity ? " [" + short_hex(*e.identity) + "]" : ""));
        if (!data_group.empty())
            print_line("* receiving the group's messages on the data group " + data_group);
    }

    /// A failure (exit status 1 follows): "tlvcast-chat: CONTEXT: WHAT" on stderr, and an error event.
    void error(std::string_view context, const std::string& what) const
    {
        std::cerr << "tlvcast-chat: " << context << ": " << what << "\n";
        if (json_)
            print_line(json_object::event("error").str("error", what).text());
    }

    /// A line that was not sent, and why.
    void send_failed(const std::string& why) const
    {
        std::cerr << "tlvcast-chat: message not sent: " << why << "\n";
        if (json_)
            print_line(json_object::event("send_failed").str("error", why).text());
    }

    /// Any other client event.
    void event(const core::client_event& e) const
    {
        if (json_)
            print_line(json_line(e));
        else if (group_)
            print_group(e);
        else
            print_text(e);
    }

private:
    using k = core::client_event::kind;

    std::string json_line(const core::client_event& e) const
    {
        const std::string peer = e.peer.to_string();
        switch (e.what) {
        case k::registered:
        case k::failed: return {}; // registered() and error() report these
        case k::message: {
            auto o = json_object::event("message");
            if (!group_) // the group's messages come from members, not from an address
                o.str("peer", peer);
            return sender(o, e).str("text", e.text).text();
        }
        case k::epoch: return json_object::event("epoch").num("n", e.epoch).num("members", e.members).text();
        case k::member_added:
            return json_object::event("member_added")
                .str("fingerprint", fingerprint(e))
                .boolean("verified", e.verified)
                .text();
        case k::member_removed: return json_object::event("member_removed").str("fingerprint", fingerprint(e)).text();
        case k::gap:
            return json_object::event("gap")
                .str("sender", fingerprint(e))
                .num("first", e.from)
                .num("last", e.to)
                .text();
        case k::unrecoverable:
            return json_object::event("unrecoverable")
                .str("peer", peer)
                .num("first", e.from)
                .num("last", e.to)
                .text();
        case k::peer_connected: return sender(json_object::event("connected").str("peer", peer), e).text();
        case k::peer_disconnected: return sender(json_object::event("disconnected").str("peer", peer), e).text();
        case k::relay_lost: return json_object::event("relay_lost").str("relay", peer).text();
        case k::relay_changed: return json_object::event("relay_changed").str("relay", peer).text();
        case k::relay_refused:
        case k::relay_trusted:
            return json_object::event(e.what == k::relay_refused ? "relay_refused" : "relay_trusted")
                .str("relay", peer)
                .str("relay_fingerprint", fingerprint(e))
                .text();
        }
        return {};
    }

    // The seed and secure profiles for people: the address and, where the profile proves it, the
    // sender's short identity.
    void print_text(const core::client_event& e) const
    {
        const std::string peer = e.peer.to_string() + (e.identity ? " [" + short_hex(*e.identity) + "]" : "");
        switch (e.what) {
        case k::message: print_line("<" + peer + "> " + e.text); break;
        case k::peer_connected: status("* " + peer + " joined"); break;
        case k::peer_disconnected: status("* " + peer + " left"); break;
        case k::relay_trusted: status("* trusting the relay at " + peer + " from now on (first use)"); break;
        default: relay_warning(e); break;
        }
    }

    // The group profile for people: members by their fingerprints' first 128 bits, each marked as
    // on this member's roster, admin-certified or UNVERIFIED (the relay's address says nothing).
    void print_group(const core::client_event& e) const
    {
        const std::string who = e.identity ? "[" + short_hex(*e.identity) + "]" : "[?]";
        switch (e.what) {
        case k::message: print_line("<" + who + " " + standing(e) + "> " + e.text); break;
        case k::epoch:
            status("* epoch " + std::to_string(e.epoch) + ": " + std::to_string(e.members) +
                   (e.members == 1 ? " member" : " members"));
            break;
        case k::member_added: status("* " + who + " joined the group (" + standing(e) + ")"); break;
        case k::member_removed:
            if (e.identity == self_)
                print_line("* this client is no longer in the group"); // a warning: even with -q
            else
                status("* " + who + " left the group");
            break;
        case k::gap:
            print_line("* messages " + std::to_string(e.from) + ".." + std::to_string(e.to) + " from " + who +
                       " are missing");
            break;
        case k::peer_connected:
        case k::peer_disconnected: break; // not in this profile: presence comes from commits
        case k::relay_trusted:
            status("* trusting the relay at " + e.peer.to_string() + " from now on (first use)");
            break;
        default: relay_warning(e); break;
        }
    }

    // What happened to the relay, and datagrams lost for good: shown even with -q.
    static void relay_warning(const core::client_event& e)
    {
        const std::string relay = e.peer.to_string();
        switch (e.what) {
        case k::unrecoverable: // a stretch the repair layer gave up on (--reliability nack)
            print_line("* datagrams " + std::to_string(e.from) + ".." + std::to_string(e.to) + " from " + relay +
                       " were lost for good (not repaired in time): messages in them are missing");
            break;
        case k::relay_lost: print_line("* the relay at " + relay + " stopped answering; still trying"); break;
        case k::relay_changed: print_line("* a new relay answered from " + relay + "; registered again"); break;
        case k::relay_refused: print_line("* REFUSED a relay at " + relay + ": not the trusted identity"); break;
        default: break;
        }
    }

    // A status line for people: not with -q.
    void status(const std::string& line) const
    {
        if (!quiet_)
            print_line(line);
    }

    // How this member knows a group member: on its roster, by the admin's certificate (checked by
    // the library before the member was admitted), or not at all (open admission).
    std::string standing(const core::client_event& e) const
    {
        namespace grp = tlvcast::profile::group;
        const auto& roster = group_options_.roster;
        const bool listed = e.what == k::member_added
                                ? e.verified
                                : e.identity && std::find(roster.begin(), roster.end(), *e.identity) != roster.end();
        if (listed)
            return "on the roster";
        if (group_options_.policy == grp::admission::admin)
            return "admin-certified";
        return "UNVERIFIED";
    }

    static std::string fingerprint(const core::client_event& e)
    {
        return e.identity ? hex(*e.identity) : std::string();
    }

    static json_object& sender(json_object& o, const core::client_event& e)
    {
        if (e.identity)
            o.str("sender", hex(*e.identity));
        return o;
    }

    bool json_, quiet_, group_;
    crypto::fingerprint self_;
    const tlvcast::profile::group::options& group_options_;
};

} // namespace tlvcast::examples
