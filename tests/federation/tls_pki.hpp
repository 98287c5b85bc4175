// SPDX-License-Identifier: BSL-1.0
// Test certificates for the NATS link's TLS tests (nats_tls.cpp, review_tls.cpp): a temporary
// directory and the openssl commands that fill it (P-256 keys, 2 days), run by the tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace test {

class tls_pki_dir {
public:
    /// A fresh directory named after `prefix` and this process.
    explicit tls_pki_dir(const std::string& prefix)
        : dir_(std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid())))
    {
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    tls_pki_dir(const tls_pki_dir&) = delete;
    tls_pki_dir& operator=(const tls_pki_dir&) = delete;
    ~tls_pki_dir() { std::filesystem::remove_all(dir_); }

    const std::filesystem::path& dir() const { return dir_; }
    std::string file(const std::string& name) const { return (dir_ / name).string(); }

    /// The command for a self-signed CA `name` (.crt, .key).
    std::string ca(const std::string& name) const
    {
        return "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + file(name + ".key") +
               " -out " + file(name + ".crt") + " -subj /CN=" + name + " -days 2";
    }
    /// The command for `name`'s key and request (.key, .csr); writes its extension file (.ext, the
    /// subjectAltName `san`) now.
    std::string csr(const std::string& name, const std::string& san) const
    {
        std::ofstream(file(name + ".ext")) << "subjectAltName=" << san << "\n";
        return "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + file(name + ".key") +
               " -out " + file(name + ".csr") + " -subj /CN=" + name;
    }
    /// The commands for a certificate `name` (.crt, .key) for `san`, signed by `ca`.
    std::string cert(const std::string& name, const std::string& ca, const std::string& san) const
    {
        return csr(name, san) + " && openssl x509 -req -in " + file(name + ".csr") + " -CA " + file(ca + ".crt") +
               " -CAkey " + file(ca + ".key") + " -CAcreateserial -days 2 -out " + file(name + ".crt") +
               " -extfile " + file(name + ".ext");
    }
    /// Runs `commands` (joined with &&) quietly; true when every one succeeded.
    static bool run(const std::vector<std::string>& commands)
    {
        std::string script = "(";
        for (std::size_t i = 0; i < commands.size(); ++i)
            script += (i ? " && " : "") + commands[i];
        return std::system((script + ") >/dev/null 2>&1").c_str()) == 0;
    }
    /// nats-server's TLS arguments with `cert` and `key` (file names in the directory).
    std::vector<std::string> server_args(const std::string& cert, const std::string& key) const
    {
        return {"--tls", "--tlscert", file(cert), "--tlskey", file(key)};
    }

private:
    std::filesystem::path dir_;
};

} // namespace test
