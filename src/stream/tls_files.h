// TlsFiles: what a TLS client of `xcap stream` verifies servers with and presents to them.
#pragma once

#include <string>

namespace xcap::stream {

// ca: a file of PEM certificates, or PEM text itself (BOSH_CA_CERT may be either); empty: the
// system's trusted certificates. cert/key: a client certificate and its key (PEM files).
struct TlsFiles {
  std::string ca, cert, key;
};

}  // namespace xcap::stream
