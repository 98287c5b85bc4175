// SPDX-License-Identifier: BSL-1.0
// The seed profile: its Cipher policy and the ready-made configuration (RSA-OAEP, 256-byte fragments, UDP multicast).
#pragma once

#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>
#include <tlvcast/transport/asio_udp.hpp>

namespace tlvcast::profile::seed {

/// The seed profile on the default backend (crypto/default_backend.hpp: Crypto++ when the build has it).
using cipher = rsa_oaep;
using fragmenter = fragment::seed_fragmenter;
using client = core::basic_client<transport::asio_udp, cipher, fragmenter>;
using relay = core::basic_relay<transport::asio_udp, cipher, fragmenter>;

#ifdef TLVCAST_HAS_CRYPTOPP
/// The seed profile on Crypto++.
using cryptopp_cipher = basic_rsa_oaep<crypto::cryptopp_rsa>;
using cryptopp_client = core::basic_client<transport::asio_udp, cryptopp_cipher, fragmenter>;
using cryptopp_relay = core::basic_relay<transport::asio_udp, cryptopp_cipher, fragmenter>;
#endif

#ifdef TLVCAST_HAS_OPENSSL
/// The seed profile on OpenSSL 3: the same wire format, faster private-key operations.
using openssl_cipher = basic_rsa_oaep<crypto::openssl_rsa>;
using openssl_client = core::basic_client<transport::asio_udp, openssl_cipher, fragmenter>;
using openssl_relay = core::basic_relay<transport::asio_udp, openssl_cipher, fragmenter>;
#endif

} // namespace tlvcast::profile::seed
