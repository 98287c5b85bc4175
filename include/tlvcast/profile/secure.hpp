// SPDX-License-Identifier: BSL-1.0
// The secure profile, the one header to include: its Cipher policy, and ready-made client and relay
// types over UDP multicast (X25519/Ed25519 handshake, AEAD records).
#pragma once

#include <tlvcast/core/client.hpp>
#include <tlvcast/core/relay.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/transport/asio_udp.hpp>

namespace tlvcast::profile::secure {

// `cipher` (AES-256-GCM) and `chacha_cipher` (ChaCha20-Poly1305, for CPUs without AES
// instructions) are on the default backend (crypto/default_backend.hpp: Crypto++ when the build
// has it). Build the client's fragmenter as `fragmenter(limits, cipher.fragment_payload())` so that
// every fragment fits one record.
using fragmenter = fragment::seed_fragmenter;
using client = core::basic_client<transport::asio_udp, cipher, fragmenter>;
using relay = core::basic_relay<transport::asio_udp, cipher, fragmenter>;
using chacha_client = core::basic_client<transport::asio_udp, chacha_cipher, fragmenter>;
using chacha_relay = core::basic_relay<transport::asio_udp, chacha_cipher, fragmenter>;

#ifdef TLVCAST_HAS_CRYPTOPP
/// The secure profile on Crypto++ (AES-256-GCM; ChaCha20-Poly1305).
using cryptopp_cipher = basic_cipher<crypto::cryptopp_suite, crypto::cryptopp_aes256_gcm>;
using cryptopp_chacha_cipher = basic_cipher<crypto::cryptopp_suite, crypto::cryptopp_chacha20_poly1305>;
using cryptopp_client = core::basic_client<transport::asio_udp, cryptopp_cipher, fragmenter>;
using cryptopp_relay = core::basic_relay<transport::asio_udp, cryptopp_cipher, fragmenter>;
#endif

#ifdef TLVCAST_HAS_OPENSSL
/// The same wire format on OpenSSL 3 (interoperates with the Crypto++ variants of the same AEAD).
using openssl_cipher = basic_cipher<crypto::openssl_suite, crypto::openssl_aes256_gcm>;
using openssl_chacha_cipher = basic_cipher<crypto::openssl_suite, crypto::openssl_chacha20_poly1305>;
using openssl_client = core::basic_client<transport::asio_udp, openssl_cipher, fragmenter>;
using openssl_relay = core::basic_relay<transport::asio_udp, openssl_cipher, fragmenter>;
using openssl_chacha_client = core::basic_client<transport::asio_udp, openssl_chacha_cipher, fragmenter>;
using openssl_chacha_relay = core::basic_relay<transport::asio_udp, openssl_chacha_cipher, fragmenter>;
#endif

} // namespace tlvcast::profile::secure
