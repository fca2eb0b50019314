#pragma once

// Umbrella header of the atls library: attested TLS 1.3 (docs/wire-profile.md).

#include <atls/attester.h>
#include <atls/attesters.h>
#include <atls/bytes.h>
#include <atls/clock.h>
#include <atls/config.h>
#include <atls/connection.h>
#include <atls/error.h>
#include <atls/evidence.h>
#include <atls/export.h>
#include <atls/openssl.h>
#include <atls/result.h>
#include <atls/trust.h>
#include <atls/verifier.h>
