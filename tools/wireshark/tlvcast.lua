-- SPDX-License-Identifier: BSL-1.0
-- Wireshark dissector for tlvcast's three profiles (docs/PROTOCOL.md): one outer TLV per UDP
-- datagram (u16 type, u16 length, big-endian), on the control port (5007) and the group profile's
-- data-group port (5008), both preferences. Load: wireshark -X lua_script:tlvcast.lua
local p = Proto("tlvcast", "tlvcast")

-- include/tlvcast/wire/types.hpp: name, smallest and largest value length of each type.
local types = {
    [1] = {"FRAGMENT", 8, 65535}, [3] = {"ENCRYPTED_BLOCK", 256, 512},
    [4] = {"REGISTER_PUBLIC_KEY", 64, 2048}, [5] = {"SERVER_PUBLIC_KEY", 64, 2048},
    [6] = {"RELAYED_MESSAGE", 256, 65535}, [7] = {"REQUEST_SERVER_KEY", 0, 0}, [9] = {"KEEPALIVE", 0, 0},
    [10] = {"SENDER_INFO", 10, 65535}, [11] = {"CLIENT_CONNECTED", 6, 6}, [12] = {"CLIENT_DISCONNECTED", 6, 6},
    [13] = {"SECURE_HELLO", 50, 67}, [14] = {"SECURE_COOKIE", 33, 33}, [15] = {"SECURE_SERVER_HELLO", 136, 136},
    [16] = {"SECURE_CLIENT_AUTH", 120, 120}, [17] = {"SECURE_RECORD", 36, 65535},
    [18] = {"SECURE_DELIVER", 51, 65535}, [19] = {"SECURE_PRESENCE", 52, 52}, [20] = {"SECURE_ACCEPT", 1, 1},
    [21] = {"SECURE_MESSAGE", 0, 65535}, [22] = {"SECURE_CONNECT", 0, 0}, [23] = {"SECURE_DISCONNECT", 0, 0},
    [24] = {"SECURE_KEY_UPDATE", 0, 0}, [25] = {"GROUP_JOIN", 133, 197}, [26] = {"GROUP_LEAVE", 0, 0},
    [27] = {"GROUP_PRESENCE", 52, 249}, [28] = {"GROUP_COMMIT", 226, 65535}, [29] = {"GROUP_WELCOME", 28, 65535},
    [30] = {"GROUP_MESSAGE", 110, 65535}, [31] = {"GROUP_SYNC", 8, 8}, [32] = {"GROUP_BATCH", 112, 65535},
    [33] = {"REPAIR_DATA", 12, 65535}, [34] = {"REPAIR_NACK", 10, 388}, [35] = {"REPAIR_TAIL", 8, 8},
    [36] = {"REPAIR_GONE", 12, 12}, [37] = {"REPAIR_ACK", 8, 8}, [38] = {"REPAIR_PARITY", 16, 65535},
    [39] = {"REPAIR_START", 8, 8}, [40] = {"SECURE_PART", 12, 65535}, [41] = {"SECURE_DELIVER_PART", 63, 65535},
    [42] = {"GROUP_PART", 122, 65535}, [43] = {"SECURE_BATCH", 4, 65535}, [44] = {"SECURE_DELIVER_BATCH", 55, 65535},
}
local names = {}
for t, row in pairs(types) do names[t] = row[1] end

local f = p.fields
local function field(kind, abbr, label, ...) f[abbr] = ProtoField[kind]("tlvcast." .. abbr, label, ...) end
field("uint16", "type", "Type", base.DEC, names)
field("string", "name", "Type name")
field("uint16", "length", "Length", base.DEC)
field("bytes", "value", "Value")
field("bytes", "trailing", "Bytes after the TLV (ignored)")
field("uint32", "fragment.msg_id", "Message id", base.HEX)
field("uint16", "fragment.seq", "Sequence", base.DEC)
field("uint16", "fragment.total", "Total", base.DEC)
field("bytes", "fragment.payload", "Payload")
field("ipv4", "ipv4", "IPv4 address")
field("ipv6", "ipv6", "IPv6 address")
field("uint16", "port", "Port", base.DEC)
field("uint8", "family", "Address family", base.DEC, {[4] = "IPv4, v4-mapped", [6] = "IPv6"})
field("string", "pem", "Public key (PEM)")
field("bytes", "ciphertext", "Ciphertext")
field("bytes", "tag", "AEAD tag")
field("uint8", "secure.version", "Version", base.DEC)
field("uint8", "secure.aead", "AEAD", base.DEC, {[1] = "AES-256-GCM", [2] = "ChaCha20-Poly1305"})
field("bytes", "secure.ephemeral", "Ephemeral X25519 key")
field("bytes", "secure.random", "Client random")
field("bytes", "secure.cookie", "Cookie")
field("bytes", "secure.session_id", "Session id")
field("bytes", "secure.identity", "Ed25519 identity")
field("bytes", "secure.signature", "Signature")
field("uint64", "secure.seq", "Record sequence", base.DEC)
field("bytes", "fingerprint", "Identity fingerprint")
field("uint8", "kind", "Kind", base.DEC, {[0] = "left", [1] = "arrived"})
field("uint8", "secure.flags", "Flags", base.HEX)
field("bytes", "message", "Message")
field("uint8", "group.version", "Version", base.DEC)
field("bytes", "group.group_id", "Group id")
field("uint64", "group.epoch", "Epoch", base.DEC)
field("uint16", "group.sender", "Sender index", base.DEC)
field("uint32", "group.generation", "Generation", base.DEC)
field("bytes", "group.prev", "Previous commit hash")
field("bytes", "group.committer", "Committer identity")
field("uint16", "group.count", "Count", base.DEC)
field("bytes", "group.roster_hash", "Roster hash")
field("uint16", "group.first", "First entry", base.DEC)
field("uint16", "group.total", "Total entries", base.DEC)
field("uint8", "group.mode", "Delivery", base.DEC, {[0] = "unicast", [1] = "multicast"})
field("bytes", "group.init", "Init X25519 key")
field("uint32", "group.kp_seq", "Key package seq", base.DEC)
field("bytes", "group.certificate", "Admission certificate")
field("bytes", "group.items", "Items (as counted)")
field("uint32", "repair.stream", "Stream", base.HEX)
field("uint32", "repair.seq", "Sequence", base.DEC)
field("uint32", "repair.first", "First", base.DEC)
field("uint32", "repair.count", "Count", base.DEC)
field("uint32", "repair.next", "Next", base.DEC)
field("uint8", "repair.block_count", "Block datagrams", base.DEC)
field("uint8", "repair.index", "Parity index", base.DEC)
field("bytes", "repair.symbol", "Parity symbol")
field("uint32", "part.msg_id", "Large message id", base.HEX)
field("uint32", "part.total", "Large message size", base.DEC)
field("uint32", "part.offset", "Offset", base.DEC)
field("bytes", "part.bytes", "Part bytes")
field("uint16", "batch.count", "Messages in the batch", base.DEC)
field("uint16", "batch.length", "Message length", base.DEC)

local e_malformed = ProtoExpert.new("tlvcast.malformed", "malformed", expert.group.MALFORMED, expert.severity.ERROR)
local e_unknown = ProtoExpert.new("tlvcast.unknown", "unknown type", expert.group.UNDECODED, expert.severity.WARN)
-- Valid on the wire, but beyond what a receiver with the default limits takes (it drops it, counted).
local e_limit = ProtoExpert.new("tlvcast.limit", "beyond a default limit", expert.group.PROTOCOL, expert.severity.WARN)
p.experts = {e_malformed, e_unknown, e_limit}

local function malformed(tree, fmt, ...)
    tree:add_proto_expert_info(e_malformed, "malformed: " .. string.format(fmt, ...))
end

-- Adds `abbr` over the n bytes at cur[1] (a one-element table: the cursor) and advances it; nil
-- past `stop`, so that variable layouts never read beyond their value.
local function take(tvb, tree, cur, stop, n, abbr)
    if n < 0 or cur[1] + n > stop then return nil end
    local r = n > 0 and tvb(cur[1], n) or nil
    if r and abbr then tree:add(f[abbr], r) end
    cur[1] = cur[1] + n
    return r or true
end

local dissect_blob -- (tvb, off, len, tree, depth): a sequence of TLVs, defined below
local dissect_tlv -- (tvb, off, avail, tree, depth): one TLV, defined below

-- The secure profile's 19-byte address: family, address (16, IPv4 v4-mapped), port.
local function address(tvb, off, tree)
    local family = tvb(off, 1):uint()
    tree:add(f["family"], tvb(off, 1))
    if family == 4 then
        tree:add(f["ipv4"], tvb(off + 13, 4))
        if tvb(off + 1, 12):bytes():tohex():upper() ~= "00000000000000000000FFFF" then
            malformed(tree, "family 4 with an address that is not v4-mapped")
        end
    elseif family == 6 then
        tree:add(f["ipv6"], tvb(off + 1, 16))
    else
        malformed(tree, "address family %d", family)
    end
    tree:add(f["port"], tvb(off + 17, 2))
end

local function key_package(tvb, off, tree)
    local kp = tree:add(tvb(off, 132), "Key package")
    kp:add(f["secure.identity"], tvb(off, 32))
    kp:add(f["group.init"], tvb(off + 32, 32))
    kp:add(f["group.kp_seq"], tvb(off + 64, 4))
    kp:add(f["secure.signature"], tvb(off + 68, 64))
end

local function sealed(tvb, off, len, tree) -- AEAD ciphertext and its 16-byte tag
    if len > 16 then tree:add(f["ciphertext"], tvb(off, len - 16)) end
    tree:add(f["tag"], tvb(off + len - 16, 16))
end

local function group_header(tvb, off, tree)
    tree:add(f["group.group_id"], tvb(off, 16))
    tree:add(f["group.epoch"], tvb(off + 16, 8))
    tree:add(f["group.sender"], tvb(off + 24, 2))
    tree:add(f["group.generation"], tvb(off + 26, 4))
    return string.format("epoch %s sender %d generation %d", tostring(tvb(off + 16, 8):uint64()),
        tvb(off + 24, 2):uint(), tvb(off + 26, 4):uint())
end

-- The commit's variable part after version, group_id, epoch, prev and committer (89 bytes);
-- returns false when the counts do not add up to the value's length.
local function commit_body(tvb, off, len, tree)
    local cur, stop = {off + 89}, off + len
    local function counted(label, each)
        local r = take(tvb, tree, cur, stop, 2)
        if not r then return nil end
        local n = r:uint()
        tree:add(f["group.count"], r):set_text(string.format("%s: %d", label, n))
        if each and not take(tvb, tree, cur, stop, n * each, n > 0 and "group.items" or nil) then return nil end
        return n
    end
    if not counted("Removed", 2) or not counted("Updated", 134) then return false end
    local added = counted("Added")
    if not added then return false end
    for _ = 1, added do
        if not take(tvb, tree, cur, stop, 132) then return false end
        local has = take(tvb, tree, cur, stop, 1)
        if not has or (has:uint() == 1 and not take(tvb, tree, cur, stop, 64, "group.certificate")) then return false end
    end
    if not take(tvb, tree, cur, stop, 32, "group.roster_hash") or not take(tvb, tree, cur, stop, 32, "secure.ephemeral") then
        return false
    end
    if not counted("Entries", 48) then return false end
    local has = take(tvb, tree, cur, stop, 1)
    if not has or (has:uint() == 1 and not take(tvb, tree, cur, stop, 64, "group.certificate")) then return false end
    return take(tvb, tree, cur, stop, 64, "secure.signature") and cur[1] == stop
end

-- One function per type that has a layout: (tvb, off, len, tree, depth) -> a summary for the
-- Info column, or nil. Lengths are already within the type's bounds.
local value = {}
-- FRAGMENT reassembly, by source and msg_id, in the first pass over the packets: the frame of the
-- last fragment shows the blob. Bounded: at most 256 messages in progress, 1 MiB each.
local pending, done, in_progress = {}, {}, 0
function p.init() pending, done, in_progress = {}, {}, 0 end
local pinfo_now -- the packet being dissected (set by p.dissector)
-- Fragments are put together at the datagram's top, and inside a bare REPAIR_DATA (a repairing
-- stream's datagram, as on the group profile's data group): one FRAGMENT per frame either way.
local in_stream = false

local function reassemble(tvb, off, len, msg_id, seq, total)
    local key = string.format("%s:%d/%08x", tostring(pinfo_now.src), pinfo_now.src_port, msg_id)
    local m = pending[key]
    if not m then
        if in_progress >= 256 then pending, in_progress = {}, 0 end
        m = {total = total, parts = {}, count = 0, size = 0}
        pending[key], in_progress = m, in_progress + 1
    end
    if m.total ~= total or m.parts[seq] or m.size + len > 1048576 then return end
    m.parts[seq] = len > 0 and tvb(off, len):bytes() or ByteArray.new()
    m.count, m.size = m.count + 1, m.size + len
    if m.count < total then return end
    local blob = ByteArray.new()
    for i = 0, total - 1 do blob:append(m.parts[i]) end
    done[pinfo_now.number], pending[key], in_progress = blob, nil, in_progress - 1
end

value[1] = function(tvb, off, len, tree, depth)
    tree:add(f["fragment.msg_id"], tvb(off, 4))
    tree:add(f["fragment.seq"], tvb(off + 4, 2))
    tree:add(f["fragment.total"], tvb(off + 6, 2))
    local msg_id, seq, total = tvb(off, 4):uint(), tvb(off + 4, 2):uint(), tvb(off + 6, 2):uint()
    if total == 0 or seq >= total then
        malformed(tree, "seq %d of total %d", seq, total)
    elseif total == 1 then -- the whole blob: its TLVs
        if len > 8 then
            dissect_blob(tvb, off + 8, len - 8, tree:add(f["fragment.payload"], tvb(off + 8, len - 8)), depth + 1)
        end
    else
        if len > 8 then tree:add(f["fragment.payload"], tvb(off + 8, len - 8)) end
        local top = depth == 0 or (depth == 1 and in_stream)
        if top and not pinfo_now.visited then reassemble(tvb, off + 8, len - 8, msg_id, seq, total) end
        local blob = top and done[pinfo_now.number]
        if blob and blob:len() > 0 then
            local whole = blob:tvb("Reassembled blob")
            dissect_blob(whole, 0, whole:len(), tree:add(whole(), string.format("Reassembled blob (%d fragments, %d bytes)",
                total, whole:len())), depth + 1)
        end
    end
    return string.format("msg_id %08x %d/%d", msg_id, seq, total)
end
local function pem(tvb, off, len, tree) tree:add(f["pem"], tvb(off, len)) end
value[4], value[5] = pem, pem
local function ciphertext(tvb, off, len, tree) tree:add(f["ciphertext"], tvb(off, len)) end
value[3], value[6] = ciphertext, ciphertext
local function ipv4_port(tvb, off, tree)
    tree:add(f["ipv4"], tvb(off, 4))
    tree:add(f["port"], tvb(off + 4, 2))
    return string.format("%s:%d", tostring(tvb(off, 4):ipv4()), tvb(off + 4, 2):uint())
end
value[10] = function(tvb, off, len, tree, depth)
    local from = ipv4_port(tvb, off, tree)
    if dissect_blob(tvb, off + 6, len - 6, tree, depth + 1) ~= 1 then malformed(tree, "not one whole inner TLV") end
    return "from " .. from
end
value[11] = function(tvb, off, len, tree) return ipv4_port(tvb, off, tree) end
value[12] = value[11]
value[13] = function(tvb, off, len, tree)
    tree:add(f["secure.version"], tvb(off, 1))
    tree:add(f["secure.aead"], tvb(off + 1, 1))
    tree:add(f["secure.ephemeral"], tvb(off + 2, 32))
    tree:add(f["secure.random"], tvb(off + 34, 16))
    if len == 67 then tree:add(f["secure.cookie"], tvb(off + 50, 17))
    elseif len ~= 50 then malformed(tree, "a cookie of %d bytes (17 expected)", len - 50) end
    return len == 67 and "with cookie" or "no cookie"
end
value[14] = function(tvb, off, len, tree)
    tree:add(f["secure.cookie"], tvb(off, 17))
    tree:add(f["secure.random"], tvb(off + 17, 16))
end
value[15] = function(tvb, off, len, tree)
    tree:add(f["secure.session_id"], tvb(off, 8))
    tree:add(f["secure.ephemeral"], tvb(off + 8, 32))
    tree:add(f["secure.identity"], tvb(off + 40, 32))
    tree:add(f["secure.signature"], tvb(off + 72, 64))
end
value[16] = function(tvb, off, len, tree)
    tree:add(f["secure.session_id"], tvb(off, 8))
    sealed(tvb, off + 8, len - 8, tree) -- the client's identity and signature, encrypted
end
value[17] = function(tvb, off, len, tree)
    tree:add(f["secure.session_id"], tvb(off, 8))
    tree:add(f["secure.seq"], tvb(off + 8, 8))
    sealed(tvb, off + 16, len - 16, tree) -- the inner TLV, encrypted
    return "seq " .. tostring(tvb(off + 8, 8):uint64())
end
-- A large message's part (docs/PROTOCOL.md "Large messages"): msg_id(4) total(4) offset(4) bytes,
-- offset + bytes <= total; a total above core::large_limits' default max_message_bytes (16 MiB) is
-- dropped by a receiver, not malformed (the wire allows 4 GiB).
local max_large_message = 16 * 1024 * 1024
local function part(tvb, off, len, tree)
    if len < 12 then return malformed(tree, "a part of %d bytes: its header needs 12", len) end
    tree:add(f["part.msg_id"], tvb(off, 4))
    tree:add(f["part.total"], tvb(off + 4, 4))
    tree:add(f["part.offset"], tvb(off + 8, 4))
    if len > 12 then tree:add(f["part.bytes"], tvb(off + 12, len - 12)) end
    local msg_id, total, offset, n = tvb(off, 4):uint(), tvb(off + 4, 4):uint(), tvb(off + 8, 4):uint(), len - 12
    if offset + n > total then
        malformed(tree, "part at offset %d with %d bytes beyond the message's %d", offset, n, total)
    end
    if total > max_large_message then
        tree:add_proto_expert_info(e_limit, string.format("beyond the default limit: a message of %d bytes "
            .. "(receivers drop those above %d, core::large_limits::max_message_bytes)", total, max_large_message))
    end
    return string.format("msg_id %08x bytes %d..%d of %d", msg_id, offset, offset + n, total)
end

-- A secure batch (docs/PROTOCOL.md "Batches: SECURE_BATCH"): count (1..256), then exactly count
-- entries of length (2) and message, nothing after; anything else is what the receivers refuse.
local max_batch_messages = 256
local function batch(tvb, off, len, tree)
    if len < 2 then return malformed(tree, "a batch of %d bytes: no count", len) end
    tree:add(f["batch.count"], tvb(off, 2))
    local count = tvb(off, 2):uint()
    if count == 0 then return malformed(tree, "an empty batch (count 0)") end
    if count > max_batch_messages then
        return malformed(tree, "a batch of %d messages (at most %d)", count, max_batch_messages)
    end
    local pos, stop = off + 2, off + len
    for i = 1, count do
        if stop - pos < 2 then return malformed(tree, "message %d of %d: its length is cut short", i, count) end
        local n = tvb(pos, 2):uint()
        if n > stop - pos - 2 then
            return malformed(tree, "message %d of %d: %d bytes, %d left", i, count, n, stop - pos - 2)
        end
        local entry = tree:add(tvb(pos, 2 + n), string.format("Message %d (%d bytes)", i, n))
        entry:add(f["batch.length"], tvb(pos, 2))
        if n > 0 then entry:add(f["message"], tvb(pos + 2, n)) end
        pos = pos + 2 + n
    end
    if pos ~= stop then return malformed(tree, "%d bytes after the batch's %d messages", stop - pos, count) end
    return string.format("%d messages", count)
end

-- Types 18-27, 31, 40, 41, 43 and 44 travel inside records, never in clear on the wire; shown when met anyway.
value[18] = function(tvb, off, len, tree)
    address(tvb, off, tree)
    tree:add(f["fingerprint"], tvb(off + 19, 32))
    if len > 51 then tree:add(f["message"], tvb(off + 51, len - 51)) end
end
value[19] = function(tvb, off, len, tree)
    tree:add(f["kind"], tvb(off, 1))
    address(tvb, off + 1, tree)
    tree:add(f["fingerprint"], tvb(off + 20, 32))
end
value[20] = function(tvb, off, len, tree) tree:add(f["secure.flags"], tvb(off, 1)) end
value[21] = function(tvb, off, len, tree) if len > 0 then tree:add(f["message"], tvb(off, len)) end end
value[40] = part
value[41] = function(tvb, off, len, tree) -- SECURE_DELIVER's sender and identity, then a part
    address(tvb, off, tree)
    tree:add(f["fingerprint"], tvb(off + 19, 32))
    return part(tvb, off + 51, len - 51, tree)
end
value[43] = batch
value[44] = function(tvb, off, len, tree) -- SECURE_DELIVER's sender and identity, then a batch
    address(tvb, off, tree)
    tree:add(f["fingerprint"], tvb(off + 19, 32))
    return batch(tvb, off + 51, len - 51, tree)
end
value[25] = function(tvb, off, len, tree) -- also GROUP_PRESENCE's join value, whose length is not checked yet
    if len ~= 133 and len ~= 197 then return malformed(tree, "GROUP_JOIN of %d bytes (133 or 197)", len) end
    tree:add(f["group.mode"], tvb(off, 1))
    key_package(tvb, off + 1, tree)
    if len == 197 then tree:add(f["group.certificate"], tvb(off + 133, 64)) end
end
value[27] = function(tvb, off, len, tree, depth)
    value[19](tvb, off, 52, tree)
    if len > 52 then value[25](tvb, off + 52, len - 52, tree:add(tvb(off + 52, len - 52), "Join")) end
end
value[28] = function(tvb, off, len, tree)
    tree:add(f["group.version"], tvb(off, 1))
    tree:add(f["group.group_id"], tvb(off + 1, 16))
    tree:add(f["group.epoch"], tvb(off + 17, 8))
    tree:add(f["group.prev"], tvb(off + 25, 32))
    tree:add(f["group.committer"], tvb(off + 57, 32))
    if not commit_body(tvb, off, len, tree) then malformed(tree, "the commit's counts do not add up to its length") end
    return "epoch " .. tostring(tvb(off + 17, 8):uint64())
end
value[29] = function(tvb, off, len, tree)
    tree:add(f["group.group_id"], tvb(off, 16))
    tree:add(f["group.epoch"], tvb(off + 16, 8))
    tree:add(f["group.first"], tvb(off + 24, 2))
    tree:add(f["group.total"], tvb(off + 26, 2))
    if len == 28 or (len - 28) % 68 ~= 0 then
        malformed(tree, "%d bytes of roster entries (68 each)", len - 28)
    else
        tree:add(f["group.items"], tvb(off + 28, len - 28)):set_text(string.format("%d roster entries", (len - 28) / 68))
    end
    return string.format("epoch %s entries from %d of %d", tostring(tvb(off + 16, 8):uint64()),
        tvb(off + 24, 2):uint(), tvb(off + 26, 2):uint())
end
value[30] = function(tvb, off, len, tree)
    local info = group_header(tvb, off, tree)
    sealed(tvb, off + 30, len - 30, tree) -- message and signature (batch: entries), encrypted
    return info
end
value[32] = value[30]
value[42] = value[30] -- GROUP_PART: the part's header is inside the ciphertext, with its bytes
value[31] = function(tvb, off, len, tree) tree:add(f["group.epoch"], tvb(off, 8)) end
-- The repairing fragmenter (docs/PROTOCOL.md "Repair"): a stream's datagram, NACK ranges, marks.
value[33] = function(tvb, off, len, tree, depth)
    tree:add(f["repair.stream"], tvb(off, 4))
    tree:add(f["repair.seq"], tvb(off + 4, 4))
    in_stream = depth == 0
    local _, inner = dissect_tlv(tvb, off + 8, len - 8, tree, depth + 1)
    in_stream = false
    return string.format("seq %d: %s", tvb(off + 4, 4):uint(), inner or "malformed")
end
value[34] = function(tvb, off, len, tree)
    tree:add(f["repair.stream"], tvb(off, 4))
    if (len - 4) % 6 ~= 0 then return malformed(tree, "%d bytes of ranges (6 each)", len - 4) end
    for at = off + 4, off + len - 6, 6 do
        tree:add(f["repair.first"], tvb(at, 4))
        tree:add(f["repair.count"], tvb(at + 4, 2))
    end
    return string.format("%d ranges", (len - 4) / 6)
end
value[35] = function(tvb, off, len, tree)
    tree:add(f["repair.stream"], tvb(off, 4))
    tree:add(f["repair.next"], tvb(off + 4, 4))
    return string.format("next %d", tvb(off + 4, 4):uint())
end
value[37] = value[35]
value[39] = value[35]
value[36] = function(tvb, off, len, tree)
    tree:add(f["repair.stream"], tvb(off, 4))
    tree:add(f["repair.first"], tvb(off + 4, 4))
    tree:add(f["repair.count"], tvb(off + 8, 4))
    return string.format("%d from %d", tvb(off + 8, 4):uint(), tvb(off + 4, 4):uint())
end
-- FEC (docs/PROTOCOL.md "FEC"): parity symbol `index` over datagrams [first, first + count).
value[38] = function(tvb, off, len, tree)
    tree:add(f["repair.stream"], tvb(off, 4))
    tree:add(f["repair.first"], tvb(off + 4, 4))
    tree:add(f["repair.block_count"], tvb(off + 8, 1))
    tree:add(f["repair.index"], tvb(off + 9, 1))
    tree:add(f["repair.symbol"], tvb(off + 10, len - 10))
    local first, count, index = tvb(off + 4, 4):uint(), tvb(off + 8, 1):uint(), tvb(off + 9, 1):uint()
    if count == 0 or count + index > 255 then
        return malformed(tree, "count %d, index %d: at most 256 symbols in a block", count, index)
    end
    return string.format("parity %d of %d from %d, %d-byte symbol", index, count, first, len - 10)
end

-- One TLV at off with `avail` bytes left in its container; returns its size, or nil when its
-- header or length does not fit (the caller then stops).
dissect_tlv = function(tvb, off, avail, tree, depth)
    if avail < 4 then
        local item = avail > 0 and tree:add(tvb(off, avail), "Truncated TLV header") or tree
        malformed(item, "a TLV header needs 4 bytes, %d left", avail)
        return nil
    end
    local t, len = tvb(off, 2):uint(), tvb(off + 2, 2):uint()
    local row = types[t]
    local name = row and row[1] or "UNKNOWN"
    local have = math.min(len, avail - 4)
    local sub = tree:add(tvb(off, 4 + have), string.format("%s (%d), length %d", name, t, len))
    sub:add(f["type"], tvb(off, 2))
    sub:add(f["name"], tvb(off, 2), name)
    sub:add(f["length"], tvb(off + 2, 2))
    local info = name
    if len > avail - 4 then
        malformed(sub, "length %d beyond the datagram (%d bytes left)", len, avail - 4)
        if have > 0 then sub:add(f["value"], tvb(off + 4, have)) end
        return nil, info
    end
    if not row then
        sub:add_proto_expert_info(e_unknown, string.format("unknown type %d, length %d", t, len))
    elseif len < row[2] or len > row[3] then
        malformed(sub, "%s length %d outside %d..%d", name, len, row[2], row[3])
    elseif value[t] and depth <= 4 then
        local more = value[t](tvb, off + 4, len, sub, depth)
        if more then info = name .. " " .. more end
        return 4 + len, info
    end
    if len > 0 then sub:add(f["value"], tvb(off + 4, len)) end
    return 4 + len, info
end

dissect_blob = function(tvb, off, len, tree, depth) -- returns how many whole TLVs it held
    local pos, stop, n = off, off + len, 0
    while pos < stop do
        local size = dissect_tlv(tvb, pos, stop - pos, tree, depth)
        if not size then return -1 end
        pos, n = pos + size, n + 1
    end
    return n
end

function p.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "TLVCAST"
    pinfo_now, in_stream = pinfo, false
    local root = tree:add(p, tvb())
    local size, info = dissect_tlv(tvb, 0, tvb:len(), root, 0)
    pinfo.cols.info = info or "malformed"
    root:append_text(": " .. (info or "malformed"))
    if size and size < tvb:len() then root:add(f["trailing"], tvb(size)) end
    return tvb:len()
end

p.prefs.control_port = Pref.uint("Control port", 5007, "UDP port of the relay and its control group (--port)")
p.prefs.data_port = Pref.uint("Data group port", 5008, "UDP port of the group profile's data group (--data-group)")
local ports = {}
local function register_ports() -- at load, and again when the preferences change
    local udp = DissectorTable.get("udp.port")
    for _, port in ipairs(ports) do udp:remove(port, p) end
    ports = {p.prefs.control_port, p.prefs.data_port}
    for _, port in ipairs(ports) do udp:add(port, p) end
end
p.prefs_changed = register_ports
register_ports()
