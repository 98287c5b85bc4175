// SPDX-License-Identifier: BSL-1.0
// The group profile, the one header to include: its Cipher policy, and ready-made client and relay
// types over UDP (end-to-end group encryption; the relay orders and forwards, and reads nothing).
#pragma once

#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/group/admission.hpp>
#include <tlvcast/profile/group/cipher.hpp>
#include <tlvcast/transport/asio_udp.hpp>

namespace tlvcast::profile::group {

// Build the fragmenter as `fragmenter(limits, cipher.fragment_payload(), cipher.max_whole())`, as
// for the secure profile: every fragment fits one record.
using fragmenter = fragment::seed_fragmenter;
using client = core::basic_client<transport::asio_udp, cipher, fragmenter>;
using relay = core::basic_relay<transport::asio_udp, cipher, fragmenter>;

#ifdef TLVCAST_HAS_CRYPTOPP
using cryptopp_cipher = basic_cipher<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>;
#endif
#ifdef TLVCAST_HAS_OPENSSL
using openssl_cipher = basic_cipher<crypto::openssl_suite, crypto::openssl_aes256_gcm>;
#endif

} // namespace tlvcast::profile::group
