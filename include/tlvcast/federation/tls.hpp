// SPDX-License-Identifier: BSL-1.0
// TLS for the NATS link: making a CA file the only trusted one. docs/FEDERATION.md "TLS to NATS".
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace tlvcast::federation {

/// Makes OpenSSL's default trust store `ca_file` alone, for the whole process: libnats 3.4 loads the
/// system's store into every TLS context and adds nats_options::tls_ca_file to it, so without this
/// a certificate of any public CA for the expected name is accepted too. It sets SSL_CERT_FILE and
/// empties SSL_CERT_DIR (the variables OpenSSL reads for its default paths, at each context's
/// creation). Call it before any thread starts (setenv); tlvcast-relay does for
/// --federation-tls-ca. Throws std::runtime_error when the variables cannot be set.
inline void trust_only_ca_file(const std::string& ca_file)
{
    if (ca_file.empty())
        throw std::invalid_argument("federation: trust_only_ca_file needs a CA file");
    if (::setenv("SSL_CERT_FILE", ca_file.c_str(), 1) != 0 || ::setenv("SSL_CERT_DIR", "", 1) != 0)
        throw std::runtime_error("federation: cannot set SSL_CERT_FILE/SSL_CERT_DIR");
}

} // namespace tlvcast::federation
