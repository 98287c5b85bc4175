// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/profile/group/ (key_schedule.hpp, codec.hpp, batch.hpp, member.hpp, sequencer.hpp):
// the group profile's bytes against independently computed vectors, every backend.
#include <tlvcast/profile/group/member.hpp>
#include <tlvcast/profile/group/sequencer.hpp>

#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/crypto/identity.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using namespace tlvcast;
using namespace tlvcast::profile::group;

namespace {

// Computed by tests/profile/group/vectors.py with Python's `cryptography` (not tlvcast); also in
// docs/PROTOCOL.md ("Group profile", "Test vectors"), which lists the inputs.
constexpr std::string_view v_identity_a = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";
constexpr std::string_view v_identity_b = "204040e364c10f2bec9c1fe500a1cd4c247c89d650a01ed7e82caba867877c21";
constexpr std::string_view v_init_a = "f0b4fd8be480349293ab61f0505ebb5bafccdf8a4127de221e6ef3db20e03d29";
constexpr std::string_view v_init_b = "80e1a53d3eee82b62b3048578cf38c980ddd1131243a1047fe48482942d6b648";
constexpr std::string_view v_key_package_a =
    "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737f0b4fd8be480349293ab61f0505ebb5bafccdf8a4127"
    "de221e6ef3db20e03d29000000009e05d858298cdb4b53bff3a18efa6292a25a563acd8c322a72f72e879aa0e895d1bb39c40b30d725"
    "4e8d77b1fdb68b075dbc9ea97b1e638382b578729c369408";
constexpr std::string_view v_key_package_b =
    "204040e364c10f2bec9c1fe500a1cd4c247c89d650a01ed7e82caba867877c2180e1a53d3eee82b62b3048578cf38c980ddd1131243a"
    "1047fe48482942d6b648000000002426c482215e0dd56aad35dde1d24c05dd7eeb2be2cdf4521bec7107c4dbb05ce1caae440926075e"
    "caa1a6089a4e13eabce45fd7b9d563ab9e8c15a9d2b14500";
constexpr std::string_view v_roster_hash_1 = "93906822bd3783b6975773c940709998f5d93984be3b3c776ff6b27d559eb449";
constexpr std::string_view v_roster_hash_2 = "84cdab05d4ddae79e8139b58cfe5d10aee75d79580d2a89201f157286ec83c75";
constexpr std::string_view v_commit_1 =
    "01a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a100000000000000010000000000000000000000000000000000000000000000000000000000"
    "000000d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737000000000001d04ab232742bb4ab3a1368bd46"
    "15e4e6d0224ab71a016baf8520a332c9778737f0b4fd8be480349293ab61f0505ebb5bafccdf8a4127de221e6ef3db20e03d29000000"
    "009e05d858298cdb4b53bff3a18efa6292a25a563acd8c322a72f72e879aa0e895d1bb39c40b30d7254e8d77b1fdb68b075dbc9ea97b"
    "1e638382b578729c3694080093906822bd3783b6975773c940709998f5d93984be3b3c776ff6b27d559eb4495fc2f8a124437afcee7d"
    "4567fe31e02c2d042939de96f07b06e28c0c4c3af7400001c8b1b1bf2ad3bcee738141fb888b4adcc82bc3279c35e14b06e12ad62956"
    "027703ee9fba04aece7f3b842ff50531e20100d56022d421517b72966959a626be132f18d000292d6744a08dd6a63ce5405b1f7574d4"
    "ab1c03194a9e06de6bad854f5ee6cb19566ca7ac208ab11422de4c7c06";
constexpr std::string_view v_commit_1_hash = "880f3577e82b91e05f6aaf485a494eaa084c96d51735d16b773a65afdb078bf0";
constexpr std::string_view v_entry_key_b =
    "ae7205b65e8f061cdbafd8d99378c6eebdc298fe8bad68003fb9cb160b0dafec975092a1f7b6100d53ccc989";
constexpr std::string_view v_entry_b =
    "010da8ebf6aab80dcb1a41fb99445dbcca18492f6fb9fbaf5fe87f6ae08e6319f0ed713ae9b2bc157697f15445dc7991";
constexpr std::string_view v_commit_2 =
    "01a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a10000000000000002880f3577e82b91e05f6aaf485a494eaa084c96d51735d16b773a65afdb"
    "078bf0d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737000000000001204040e364c10f2bec9c1fe500"
    "a1cd4c247c89d650a01ed7e82caba867877c2180e1a53d3eee82b62b3048578cf38c980ddd1131243a1047fe48482942d6b648000000"
    "002426c482215e0dd56aad35dde1d24c05dd7eeb2be2cdf4521bec7107c4dbb05ce1caae440926075ecaa1a6089a4e13eabce45fd7b9"
    "d563ab9e8c15a9d2b145000084cdab05d4ddae79e8139b58cfe5d10aee75d79580d2a89201f157286ec83c755fef13fc76023a9ee6de"
    "d987b6aa93958cdc2097ef9fc845d5319c9ca100d35e0002cfd9ff51f367d1918408356181ca31ab253f1022f936623ce35f47a5c3a2"
    "984161ec009d5f09749af8d261fabf81f472010da8ebf6aab80dcb1a41fb99445dbcca18492f6fb9fbaf5fe87f6ae08e6319f0ed713a"
    "e9b2bc157697f15445dc799100748b5b9af5a054f28cf2b7754ceb79de6ef48d61e71c6a9d070dbb5a0622aa776cc8a9a20c3256c21a"
    "a173921998a7d68c66749b5bacde277658e5f119e10a0f";
constexpr std::string_view v_commit_2_hash = "77f6e2d2667d634e5782f6dadda7da694ddd83bc0a612dc3b09b9efecf27e669";
constexpr std::string_view v_welcome_2_blob =
    "001d00a4a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1000000000000000200000002d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a01"
    "6baf8520a332c9778737f0b4fd8be480349293ab61f0505ebb5bafccdf8a4127de221e6ef3db20e03d2900000000204040e364c10f2b"
    "ec9c1fe500a1cd4c247c89d650a01ed7e82caba867877c2180e1a53d3eee82b62b3048578cf38c980ddd1131243a1047fe48482942d6"
    "b64800000000";
constexpr std::string_view v_sender_root_0 = "5b557b6194ea8768f6e4caaaeb7c5e3b6a7c173356c98509e96c940699f87b4b";
constexpr std::string_view v_sender_root_1 = "71f36d5c081042151f5a03ef476009441994ac8b31d24bcd04895a5aaddb8ddd";
constexpr std::string_view v_message_key_0_0 =
    "78ce5868dcce25d2fb46db97ee98b65e00974d254765e197275f81d2bd4d811cd34f6347fb39610eaf1544cf";
constexpr std::string_view v_message_key_0_1 =
    "ffbeea830cb66280a4d1209dddb2e82e89da861e7085041623b5340bf94f6d3d5ea01fc9be3edffcc396cf81";
constexpr std::string_view v_message_key_1_0 =
    "c643e3af6d1eb35d315677e0c50483de5da9a600aba7b8e6546e2429b10371ff975a8bff4c61bcbcb09364c1";
constexpr std::string_view v_message_key_1_1 =
    "403016177c88521d44d697191d4961af6ca123b1e0c59fa92526ffb396d0341a6a4ee90f82ae97cc937950fc";
constexpr std::string_view v_message_a_0_blob =
    "001e007aa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a10000000000000002000000000000836e672f9a53f3cdb1280a7cd9d842de1256c635"
    "62e5abf4ff7c640791c3141887b63157098269d07ebc845af95f23c1818e0f8b19e21ded7e40991c0bf19a7b794fac79bc15e2bfc4e6"
    "eadb1d645b3b35273600879193cf814b2291";
constexpr std::string_view v_message_a_1_blob =
    "001e0074a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a100000000000000020000000000016419511571c49f1ef0302cb721ca9fcfd5e57214"
    "5e72d6f1babdf27b1774983cb6bce060463526ad590a3d3f99ec4e6bf5023d9c5e949137c31fa3de6ab778dadb27dcf088348e5aef9e"
    "edba11f54c3b8970cb74492b";
constexpr std::string_view v_message_b_0_blob =
    "001e0070a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a100000000000000020001000000006027820e1824d7c88f9215468166fa662e9b035f"
    "df6b65797d53a97a5e296baaca08d9cd2406e1bba70e6093a37a833aacd3f860cf0408098db6ff28759d4961b2796506954ff4a11062"
    "10b953265619b21a";

// The values that depend on the AEAD: AES-256-GCM above, ChaCha20-Poly1305 here (commits by hash).
constexpr std::string_view v_commit_1_hash_chacha = "18367a31952f1bb7a849f7bea8dacb0a7000cbacbcf52472643ef781bcece86d";
constexpr std::string_view v_entry_b_chacha =
    "783a799c05e73601f276c1c0adbf1d1a8eab12aa1c252d4634aaa557d2e7637b1ffb508524906a6a1e3505e4b4288bbf";
constexpr std::string_view v_commit_2_hash_chacha = "c460a1bac9b19a04dcf4e771e62cd6dfd715abf53f806d34e3b654a4335bbb81";
constexpr std::string_view v_message_a_0_blob_chacha =
    "001e007aa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1000000000000000200000000000096312ba5bf87b78a9dab356befe7947a4973ef2e"
    "e84ff6c9347d4268d484f693c84b8a237e63a7882f2e014c8f6d41d07b12889c47cbccf356159f99c8a26fde9a860af0542153c83703"
    "be26872b44ccd70795fce4b65fa407c32d52";
constexpr std::string_view v_message_a_1_blob_chacha =
    "001e0074a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a100000000000000020000000000018232df2fb703498d3372a167b5cd3350528d3190"
    "5a5d21867daabeffd5e336f7d3cdcad7e253374b2fe988fe9c7c8a53a5c883bae7174e4c4c15832cab73b6f6f53bcbb9a452a980b8a1"
    "6def102d5c4624f91aed479d";
constexpr std::string_view v_message_b_0_blob_chacha =
    "001e0070a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1000000000000000200010000000079a95c89902fe80d7fb577e57eb78faafb1c31ec"
    "7e2910a1ab57a2bfcabda73ab04c89bd9566e3a7f01c5a14949b394b994a9acfe94e7712247fd0abd9df18c47345f647c75d9711972e"
    "35f5e43593806411";
constexpr std::string_view v_batch_b_1_blob =
    "0020007ca1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a10000000000000002000100000001ca85eac01fadca3f21d9c9baecfb875d8d75d834"
    "13bed6869c00503f2e493dc65c08a3a177d18301de617a9eae88b737c1e870d3a77b180c1dc6a7005171310f0d6f6dc686d2695271db"
    "4374e18db392d795b10fffbe46aaf5d6d36fae65";
constexpr std::string_view v_batch_b_1_blob_chacha =
    "0020007ca1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1000000000000000200010000000104ffd6f7528b8e8c628b91cce844d451887fc6fb"
    "8e94c5c256c305787bbb7d3a55d1b9725d20c38c2f4a9a2727a64ff7eab0a3ac6173a0e5e1a67e9b5d99f887adbd9c26035565afdb63"
    "07da2441f286ba1d3474278128e757fc9b3d70e3";

struct aead_vectors {
    std::string_view commit_1, commit_1_hash, entry_b, commit_2, commit_2_hash, welcome_2, messages[3], batch;
};
constexpr aead_vectors gcm_vectors{v_commit_1,      v_commit_1_hash,  v_entry_b,
                                   v_commit_2,      v_commit_2_hash,  v_welcome_2_blob,
                                   {v_message_a_0_blob, v_message_a_1_blob, v_message_b_0_blob},
                                   v_batch_b_1_blob};
constexpr aead_vectors chacha_vectors{{},          v_commit_1_hash_chacha, v_entry_b_chacha,
                                      {},          v_commit_2_hash_chacha, v_welcome_2_blob,
                                      {v_message_a_0_blob_chacha, v_message_a_1_blob_chacha, v_message_b_0_blob_chacha},
                                      v_batch_b_1_blob_chacha};

std::string hex(std::span<const std::byte> b) { return crypto::to_hex(b); }

std::vector<std::byte> unhex(std::string_view h)
{
    std::vector<std::byte> out(h.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::byte>(std::stoi(std::string(h.substr(2 * i, 2)), nullptr, 16));
    return out;
}

template <std::size_t N>
std::array<std::byte, N> filled(std::uint8_t b)
{
    std::array<std::byte, N> a{};
    a.fill(static_cast<std::byte>(b));
    return a;
}

// A random_source whose call k fills its buffer with the byte tag + k (vectors.py lists what each
// call draws). Member A's tag 0xa0, B's 0xb0.
template <std::uint8_t Tag>
struct counting_random {
    int k = 0;
    void fill(std::span<std::byte> out) { std::fill(out.begin(), out.end(), static_cast<std::byte>(Tag + k++)); }
};

// The value of a blob holding one TLV of `type`.
std::span<const std::byte> value_of(const std::vector<std::byte>& blob, wire::tlv_type type)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(blob, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(t.type() == type);
    return t.value;
}

member_entry entry_of(std::string_view identity, std::string_view init)
{
    member_entry e;
    const auto i = unhex(identity), k = unhex(init);
    std::copy(i.begin(), i.end(), e.identity.begin());
    std::copy(k.begin(), k.end(), e.init.begin());
    return e;
}

// The key schedule and the codec, function by function.
template <class Suite, class Aead>
void check_primitives()
{
    const auto id_a = crypto::ed25519_from_seed<Suite>(filled<32>(0x11));
    const auto id_b = crypto::ed25519_from_seed<Suite>(filled<32>(0x12));
    const auto init_a = crypto::x25519_from_private<Suite>(filled<32>(0xa0));
    const auto init_b = crypto::x25519_from_private<Suite>(filled<32>(0xb0));
    CHECK(hex(id_a.public_key) == v_identity_a);
    CHECK(hex(id_b.public_key) == v_identity_b);
    CHECK(hex(init_a.public_key) == v_init_a);
    CHECK(hex(init_b.public_key) == v_init_b);

    // Key packages: the fields, and the signature over the label and the signed part, remade and verified.
    for (const auto& [v, id, init] : {std::tuple{v_key_package_a, &id_a, &init_a}, std::tuple{v_key_package_b, &id_b, &init_b}}) {
        const auto bytes = unhex(v);
        REQUIRE(bytes.size() == key_package_size);
        const key_package_view kp = read_key_package(bytes);
        CHECK(kp.entry.identity == id->public_key);
        CHECK(kp.entry.init == init->public_key);
        CHECK(kp.entry.seq == 0);
        std::vector<std::byte> msg(labels::key_package.size());
        std::copy_n(reinterpret_cast<const std::byte*>(labels::key_package.data()), msg.size(), msg.begin());
        msg.insert(msg.end(), kp.signed_part.begin(), kp.signed_part.end());
        std::array<std::byte, signature_size> sig{};
        Suite::sign(id->private_key.span(), msg, sig);
        CHECK(hex(sig) == hex(kp.signature));
        CHECK(Suite::verify(id->public_key, msg, kp.signature.template first<signature_size>()));
    }

    // Roster hashes.
    std::vector<member_entry> roster{entry_of(v_identity_a, v_init_a)};
    CHECK(hex(roster_hash<Suite>(roster)) == v_roster_hash_1);
    roster.push_back(entry_of(v_identity_b, v_init_b));
    CHECK(hex(roster_hash<Suite>(roster)) == v_roster_hash_2);

    // B's entry of commit 2: the key and nonce from either side of the X25519, the sealed secret.
    const auto commit2 = unhex(v_commit_2);
    std::error_code ec;
    const commit_view c = read_commit(commit2, options::default_max_members, ec);
    REQUIRE_FALSE(ec);
    CHECK(hex(c.context) == hex(std::span(commit2).subspan(1, 56)));
    CHECK(hex(c.prev) == v_commit_1_hash);
    CHECK(hex(c.roster_hash) == v_roster_hash_2);
    REQUIRE(c.entry_count() == 2);
    CHECK(hex(c.entry(1)) == v_entry_b);
    const auto eph = crypto::x25519_from_private<Suite>(filled<32>(0xa5));
    CHECK(hex(c.ephemeral) == hex(eph.public_key));
    std::array<std::byte, 32> shared{}, shared_b{};
    REQUIRE(Suite::x25519(eph.private_key.span(), init_b.public_key, shared, ec));
    REQUIRE(Suite::x25519(init_b.private_key.span(), eph.public_key, shared_b, ec));
    CHECK(shared == shared_b);
    const message_key k = entry_key<Suite>(c.context, shared, eph.public_key, init_b.public_key);
    CHECK(hex(k.span()) == v_entry_key_b);
    const auto secret2 = filled<32>(0xa4);
    std::array<std::byte, entry_size> sealed{};
    Aead(k.span().template first<crypto::aead_key_size>())
        .seal(k.span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(), {}, secret2, sealed, ec);
    REQUIRE_FALSE(ec);
    CHECK(hex(sealed) == v_entry_b);

    // Sender ratchets: the roots, the first two message keys, the same keys through ratchet<>.
    const epoch_secret secret{std::span<const std::byte, 32>(secret2)};
    const std::string_view want[2][2] = {{v_message_key_0_0, v_message_key_0_1}, {v_message_key_1_0, v_message_key_1_1}};
    for (std::uint16_t index = 0; index < 2; ++index) {
        chain_key chain = sender_root<Suite>(secret, index);
        CHECK(hex(chain.span()) == (index == 0 ? v_sender_root_0 : v_sender_root_1));
        ratchet<Suite> r(chain);
        for (std::uint32_t g = 0; g < 2; ++g) {
            CHECK(hex(ratchet_step<Suite>(chain).span()) == want[index][g]);
            const auto step = r.next(ec);
            REQUIRE(step);
            CHECK(step->first == g);
            CHECK(hex(step->second.span()) == want[index][g]);
        }
    }
}

// The same bytes out of the member state machine: A founds the group, adds B, and both send.
// `want` holds the values of Aead (a commit given by its hash only is compared by its hash).
template <class Suite, class Aead>
void check_members(const aead_vectors& want)
{
    using random_a = counting_random<0xa0>;
    using random_b = counting_random<0xb0>;
    profile::secure::detail::party<Suite, random_a> pa(crypto::ed25519_from_seed<Suite>(filled<32>(0x11)), {}, {});
    profile::secure::detail::party<Suite, random_b> pb(crypto::ed25519_from_seed<Suite>(filled<32>(0x12)), {}, {});
    options opt;
    opt.policy = admission::open;
    member<Suite, Aead, random_a> a(pa, opt);
    member<Suite, Aead, random_b> b(pb, opt);
    sequencer<Suite> relay(options::default_max_members, options::default_commit_history);
    const auto a_joined = [&](const crypto::fingerprint& fp) { return fp == pa.fingerprint(); }; // the relay's live set
    const time_point now{};
    std::error_code ec;

    // GROUP_JOIN: mode(1) and the key package.
    std::vector<std::byte> join_a, join_b, blob;
    a.write_join(join_a, ec);
    b.write_join(join_b, ec);
    CHECK(hex(value_of(join_a, wire::tlv_type::group_join)) == "00" + std::string(v_key_package_a));
    CHECK(hex(value_of(join_b, wire::tlv_type::group_join)) == "00" + std::string(v_key_package_b));

    // The founding commit, ordered by the relay and applied by A.
    a.start(now);
    REQUIRE(a.poll_output(blob));
    const std::vector<std::byte> commit1(value_of(blob, wire::tlv_type::group_commit).begin(),
                                         value_of(blob, wire::tlv_type::group_commit).end());
    if (!want.commit_1.empty())
        CHECK(hex(commit1) == want.commit_1);
    CHECK(hex(Suite::sha256(commit1)) == want.commit_1_hash);
    CHECK_FALSE(a.poll_output(blob));
    CHECK(relay.accept_commit(commit1, pa.fingerprint(), a_joined, ec));
    CHECK_FALSE(ec);
    a.on_commit(commit1, now, ec);
    CHECK_FALSE(ec);
    REQUIRE(a.in_group());
    CHECK(a.current()->epoch == 1);
    CHECK(hex(a.current()->hash) == want.commit_1_hash);

    // B announced: A commits epoch 2 with one welcome page.
    std::vector<std::byte> presence;
    write_presence(true, endpoint{0x0a000002u, 40002}, pb.fingerprint(), value_of(join_b, wire::tlv_type::group_join),
                   presence, ec);
    REQUIRE_FALSE(ec);
    a.on_presence(value_of(presence, wire::tlv_type::group_presence), now, ec);
    CHECK_FALSE(ec);
    std::vector<std::byte> welcome; // sent first: the relay orders a commit with additions only with its pages
    REQUIRE(a.poll_output(welcome));
    CHECK(hex(welcome) == want.welcome_2);
    REQUIRE(a.poll_output(blob));
    const std::vector<std::byte> commit2(value_of(blob, wire::tlv_type::group_commit).begin(),
                                         value_of(blob, wire::tlv_type::group_commit).end());
    if (!want.commit_2.empty())
        CHECK(hex(commit2) == want.commit_2);
    CHECK(hex(Suite::sha256(commit2)) == want.commit_2_hash);
    {
        const commit_view c = read_commit(commit2, options::default_max_members, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(c.entry_count() == 2);
        CHECK(hex(c.entry(1)) == want.entry_b);
    }
    CHECK_FALSE(a.poll_output(blob));
    CHECK(relay.accept_welcome(value_of(welcome, wire::tlv_type::group_welcome), pa.fingerprint(), ec));
    CHECK(relay.accept_commit(commit2, pa.fingerprint(), a_joined, ec));
    CHECK(relay.epoch() == 2);

    a.on_commit(commit2, now, ec);
    CHECK_FALSE(ec);
    b.on_commit(commit2, now, ec);
    CHECK_FALSE(ec);
    b.on_welcome(value_of(welcome, wire::tlv_type::group_welcome), now, ec);
    CHECK_FALSE(ec);
    REQUIRE(a.in_group());
    REQUIRE(b.in_group());
    CHECK(a.current()->epoch == 2);
    CHECK(b.current()->epoch == 2);
    CHECK(b.current()->me == 1);
    CHECK(hex(b.current()->hash) == want.commit_2_hash);

    // Messages: A's generations 0 and 1, B's generation 0; each opened by the other member.
    const std::string texts[] = {"hello, group", "second", "hi"};
    for (int i = 0; i < 3; ++i) {
        const bool sender_is_a = i < 2;
        std::vector<std::byte> msg, text;
        if (sender_is_a)
            a.seal(wire::as_bytes(texts[i]), msg, ec);
        else
            b.seal(wire::as_bytes(texts[i]), msg, ec);
        REQUIRE_FALSE(ec);
        CHECK(hex(msg) == want.messages[i]);
        const auto from = sender_is_a ? b.open(value_of(msg, wire::tlv_type::group_message), text, ec)
                                      : a.open(value_of(msg, wire::tlv_type::group_message), text, ec);
        CHECK_FALSE(ec);
        REQUIRE(from);
        CHECK(*from == (sender_is_a ? pa.fingerprint() : pb.fingerprint()));
        CHECK(std::string(reinterpret_cast<const char*>(text.data()), text.size()) == texts[i]);
    }
    // B's generation 1: a batch of three, one of them empty.
    const std::string batch[] = {"one", "", "three"};
    const std::vector<bytes> views{wire::as_bytes(batch[0]), wire::as_bytes(batch[1]), wire::as_bytes(batch[2])};
    std::vector<std::byte> blob3;
    CHECK(b.seal_batch(views, 1196, blob3, ec) == 3);
    REQUIRE_FALSE(ec);
    CHECK(hex(blob3) == want.batch);
    std::vector<std::vector<std::byte>> opened;
    const auto from = a.open_batch(value_of(blob3, wire::tlv_type::group_batch), opened, ec);
    CHECK_FALSE(ec);
    REQUIRE(from);
    CHECK(*from == pb.fingerprint());
    REQUIRE(opened.size() == 3);
    for (int i = 0; i < 3; ++i)
        CHECK(std::string(reinterpret_cast<const char*>(opened[i].data()), opened[i].size()) == batch[i]);
}

} // namespace

TEST_CASE("group vectors: the default backend computes the independently computed values", "[profile][group][vectors]")
{
    check_primitives<crypto::default_suite, crypto::default_aes256_gcm>();
    check_members<crypto::default_suite, crypto::default_aes256_gcm>(gcm_vectors);
    check_members<crypto::default_suite, crypto::default_chacha20_poly1305>(chacha_vectors);
}

#if defined(TLVCAST_HAS_CRYPTOPP) && defined(TLVCAST_HAS_OPENSSL)
// The default is Crypto++ when both are compiled in: OpenSSL too.
TEST_CASE("group vectors: OpenSSL computes the same values", "[profile][group][vectors]")
{
    check_primitives<crypto::openssl_suite, crypto::openssl_aes256_gcm>();
    check_members<crypto::openssl_suite, crypto::openssl_aes256_gcm>(gcm_vectors);
    check_members<crypto::openssl_suite, crypto::openssl_chacha20_poly1305>(chacha_vectors);
}
#endif
