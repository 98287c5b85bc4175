// SPDX-License-Identifier: BSL-1.0
// rsa_tool: command-line access to the RSA backends, so that other implementations (Python) can test against them.
#include <tlvcast/crypto/default_backend.hpp>
#if defined(TLVCAST_HAS_CRYPTOPP)
#include <tlvcast/crypto/cryptopp_rsa.hpp>
#endif
#if defined(TLVCAST_HAS_OPENSSL)
#include <tlvcast/crypto/openssl_rsa.hpp>
#endif

#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

constexpr std::string_view usage = R"(usage: rsa_tool [--backend cryptopp|openssl] COMMAND ARGS...

RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) with tlvcast's RSA backends. Commands:
  genkey  PRIV_OUT [BITS]        generate a key (default 2048 bits), save it as PKCS#8 PEM (mode 0600)
  pubpem  PRIV_IN PUB_OUT        write the public key of a private PEM (PKCS#8 or PKCS#1) as SPKI PEM
  import  PUB_IN PUB_OUT         import an SPKI PEM and write it back as the backend exports it
  fingerprint PUB_IN             print the SHA-256 of the key's DER SubjectPublicKeyInfo in hex
  encrypt PUB_IN PLAIN_IN CIPHER_OUT   encrypt one block (at most modulus - 66 bytes)
  decrypt PRIV_IN CIPHER_IN PLAIN_OUT  decrypt one block
Exit status: 0 success, 1 a key or cipher error (message on stderr), 2 bad usage.
)";

std::vector<std::byte> read_file(const std::filesystem::path& path)
{
    std::ifstream in{path, std::ios::binary};
    if (!in)
        throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                                "cannot read '" + path.string() + "'");
    std::vector<char> chars{std::istreambuf_iterator<char>{in}, {}};
    std::vector<std::byte> bytes(chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i)
        bytes[i] = static_cast<std::byte>(chars[i]);
    return bytes;
}

void write_file(const std::filesystem::path& path, std::span<const std::byte> data)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out)
        throw std::system_error(std::make_error_code(std::errc::io_error), "cannot write '" + path.string() + "'");
}

std::span<const std::byte> as_bytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

int fail(std::string_view what, const std::error_code& ec)
{
    std::cerr << "rsa_tool: " << what << ": " << ec.message() << '\n';
    return 1;
}

template <class B>
typename B::public_key import_or_throw(const std::filesystem::path& path)
{
    std::error_code ec;
    auto key = B::import_public_pem(read_file(path), ec);
    if (ec)
        throw std::system_error(ec, "cannot import public key '" + path.string() + "'");
    return key;
}

template <class B>
int run(const std::vector<std::string>& args)
{
    const std::string& cmd = args.at(0);
    const auto want = [&](std::size_t n) {
        if (args.size() != n + 1 && !(cmd == "genkey" && args.size() == n + 2))
            throw std::invalid_argument(cmd + " takes " + std::to_string(n) + " arguments");
    };
    if (cmd == "genkey") {
        want(1);
        const unsigned bits = args.size() == 3 ? static_cast<unsigned>(std::stoul(args[2])) : 2048u;
        B::save_private_pem(B::generate(bits), args[1]);
        return 0;
    }
    if (cmd == "pubpem") {
        want(2);
        const auto pub = B::public_of(B::load_private_pem(args[1]));
        write_file(args[2], as_bytes(B::export_public_pem(pub)));
        return 0;
    }
    if (cmd == "import") {
        want(2);
        write_file(args[2], as_bytes(B::export_public_pem(import_or_throw<B>(args[1]))));
        return 0;
    }
    if (cmd == "fingerprint") {
        want(1);
        for (const std::byte b : B::fingerprint(import_or_throw<B>(args[1])))
            std::printf("%02x", std::to_integer<unsigned>(b));
        std::printf("\n");
        return 0;
    }
    if (cmd == "encrypt") {
        want(3);
        const auto pub = import_or_throw<B>(args[1]);
        const auto plain = read_file(args[2]);
        std::vector<std::byte> cipher(B::modulus_bytes(pub));
        std::error_code ec;
        B::encrypt(pub, plain, cipher, ec);
        if (ec)
            return fail("encrypt", ec);
        write_file(args[3], cipher);
        return 0;
    }
    if (cmd == "decrypt") {
        want(3);
        const auto priv = B::load_private_pem(args[1]);
        const auto cipher = read_file(args[2]);
        std::vector<std::byte> plain(B::modulus_bytes(priv));
        std::error_code ec;
        const std::size_t n = B::decrypt(priv, cipher, plain, ec);
        if (ec)
            return fail("decrypt", ec);
        write_file(args[3], std::span{plain}.first(n));
        return 0;
    }
    throw std::invalid_argument("unknown command '" + cmd + "'");
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args{argv + 1, argv + argc};
    std::string backend(tlvcast::crypto::default_backend_name);
    if (args.size() >= 2 && args[0] == "--backend") {
        backend = args[1];
        args.erase(args.begin(), args.begin() + 2);
    }
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << usage;
        return args.empty() ? 2 : 0;
    }
    try {
#if defined(TLVCAST_HAS_CRYPTOPP)
        if (backend == "cryptopp")
            return run<tlvcast::crypto::cryptopp_rsa>(args);
#endif
#if defined(TLVCAST_HAS_OPENSSL)
        if (backend == "openssl")
            return run<tlvcast::crypto::openssl_rsa>(args);
#endif
        std::cerr << "rsa_tool: backend '" << backend << "' is not available\n";
        return 2;
    } catch (const std::invalid_argument& e) {
        std::cerr << "rsa_tool: " << e.what() << "\n" << usage;
        return 2;
    } catch (const std::system_error& e) {
        std::cerr << "rsa_tool: " << e.what() << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "rsa_tool: " << e.what() << '\n';
        return 1;
    }
}
